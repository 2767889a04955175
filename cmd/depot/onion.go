package main

import "github.com/spf13/cobra"

func newOnionCmd() *cobra.Command { return &cobra.Command{Use: "onion"} }
