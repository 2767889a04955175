package chart

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// textElement is a text element as vgsvg (gonum.org/v1/plot v0.17) writes
// it: attributes, then a style holding the font family and size, then the
// escaped text. TestEveryTextIsFitted fails if a new version writes them
// otherwise.
var textElement = regexp.MustCompile(`<text ([^>]*?)(\s*)style="font-family:([^;"]*)([^"]*font-size:([0-9.]+)px[^"]*)">([^<]*)</text>`)

// fitText gives each text element of svg the width the layout measured
// with the chart's font (plot.DefaultFont, Liberation Serif), as a
// textLength that the browser stretches or squeezes the text to. A
// visitor without Liberation Serif sees the text in a fallback font (the
// style lists Times-metric fonts first) in exactly the space the layout
// left for it: before, a wider fallback font pushed the last month's
// label out of the picture.
func fitText(svg []byte) []byte {
	return textElement.ReplaceAllFunc(svg, func(el []byte) []byte {
		m := textElement.FindSubmatch(el)
		size, err := strconv.ParseFloat(string(m[5]), 64)
		if err != nil {
			return el
		}
		text := html.UnescapeString(string(m[6]))
		face := font.DefaultCache.Lookup(plot.DefaultFont, vg.Points(size))
		width := face.Width(text).Points()
		family := string(m[3])
		if family == "Liberation Serif" {
			family = "'Liberation Serif','Times New Roman',Times,serif"
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, `<text %s textLength="%.2f" lengthAdjust="spacingAndGlyphs"%sstyle="font-family:%s%s">%s</text>`,
			m[1], width, m[2], family, m[4], m[6])
		return b.Bytes()
	})
}
