package config

// FileCache is [file_cache]: the in-memory cache of small files (repository
// metadata such as repomd.xml and InRelease, which every client asks for
// on every check). Cached files are looked at again at most a second after
// they were last seen, so a replaced file is served within a second.
type FileCache struct {
	// MaxFile is the size up to which a file is kept in memory. Absent
	// (0) means 64KiB.
	MaxFile Size `toml:"max_file" example:"64KiB"`
	// MaxSize bounds the memory of the whole cache; the least recently
	// used files leave first. Absent (0) means 64MiB.
	MaxSize Size `toml:"max_size" example:"64MiB"`
	// Off serves every request from disk.
	Off bool `toml:"off" example:"true"`
}

// Defaults of [file_cache].
const (
	DefaultFileCacheMaxFile = Size(64 << 10)
	DefaultFileCacheMaxSize = Size(64 << 20)
)

func (f *FileCache) applyDefaults() {
	if f.MaxFile == 0 {
		f.MaxFile = DefaultFileCacheMaxFile
	}
	if f.MaxSize == 0 {
		f.MaxSize = DefaultFileCacheMaxSize
	}
}

func (f *FileCache) validate(p *Problems) {
	if f.MaxFile > f.MaxSize {
		p.add("file_cache.max_file", "%d bytes is more than max_size (%d): no file could be kept; lower max_file or raise max_size", f.MaxFile, f.MaxSize)
	}
}
