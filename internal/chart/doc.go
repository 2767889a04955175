// Package chart draws the userbase statistics as a stacked bar chart, SVG
// or PNG. It owns the picture only: it reads no file and knows nothing of
// how the figures were counted.
package chart
