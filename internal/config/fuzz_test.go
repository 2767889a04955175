package config

import "testing"

// FuzzParse feeds arbitrary files to the decoder and validator: neither may
// panic, and an accepted configuration must have its defaults applied.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("retention_months = 0\n[[listen]]\naddress = \"unix:/run/x\"\nonion = true\n"))
	f.Add([]byte("[[site]]\nhosts = [\"\"]\nredirect_min_size = \"1MiB\"\n[stats]\nlogs = [\"a*\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("/fuzz/depot.toml", data)
		if err != nil {
			return
		}
		if c.LogDir == "" || c.DataDir == "" || c.RetentionMonths == 0 {
			t.Fatalf("defaults not applied: %+v", c)
		}
		_ = c.Validate()
	})
}
