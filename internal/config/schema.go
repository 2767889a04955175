package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// This file turns the TOML decoder's errors, which speak of Go types
// ("struct field config.Config.RetentionMonths of type int"), into the
// operator's terms: the key, the type it takes and an example. Each field's
// example is its `example` struct tag (TestEveryKeyHasAnExample keeps that
// true).

// field is one key of the configuration as the schema knows it.
type field struct {
	key string // dotted TOML key, e.g. "site.root"
	typ reflect.Type
	ex  string // the example tag
}

// lookup finds the field at a TOML key path, descending through tables and
// arrays of tables.
func lookup(key []string) (field, bool) {
	t := reflect.TypeFor[Config]()
	var f reflect.StructField
	for i, k := range key {
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return field{}, false
		}
		var ok bool
		if f, ok = fieldByKey(t, k); !ok {
			return field{}, false
		}
		if i < len(key)-1 {
			t = f.Type
		}
	}
	return field{key: strings.Join(key, "."), typ: f.Type, ex: f.Tag.Get("example")}, true // the key as written
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		// The decoder matches keys without regard to case; so does this.
		if name, _, _ := strings.Cut(f.Tag.Get("toml"), ","); strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

var (
	durationType = reflect.TypeFor[Duration]()
	sizeType     = reflect.TypeFor[Size]()
)

// what says in words what the key takes.
func (f field) what() string {
	last := f.key[strings.LastIndexByte(f.key, '.')+1:]
	switch {
	case f.typ.Kind() == reflect.Slice && f.typ.Elem().Kind() == reflect.Struct:
		return "an array of tables, each written [[" + f.key + "]]"
	case f.typ.Kind() == reflect.Struct:
		return "a table, written [" + last + "]"
	}
	return what(f.typ)
}

// what says in words what a value of type t is.
func what(t reflect.Type) string {
	if t.Kind() == reflect.Pointer { // an optional key (hsts_max_age, session_tickets)
		return what(t.Elem())
	}
	switch {
	case t == durationType:
		return "a duration in a string"
	case t == sizeType:
		return "a size: a number of bytes, or a string with a unit"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return what(t.Elem())
	case reflect.Map:
		return "a table of " + strings.TrimPrefix(strings.TrimPrefix(what(t.Elem()), "a "), "an ") + "s"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(what(t.Elem()), "a "), "an ") + "s"
	}
	return t.String()
}

// example writes f's example as a line of TOML.
func (f field) example() string {
	last := f.key[strings.LastIndexByte(f.key, '.')+1:]
	if f.typ.Kind() == reflect.Struct || f.typ.Kind() == reflect.Slice && f.typ.Elem().Kind() == reflect.Struct {
		return "" // a table: its keys have the examples
	}
	if f.ex == "" {
		return ""
	}
	v := f.ex
	switch {
	case f.typ.Kind() == reflect.Slice:
		v = "[" + tomlString(f.ex) + "]"
	case f.typ.Kind() == reflect.String, f.typ == durationType, f.typ == sizeType:
		v = tomlString(f.ex)
	}
	return last + " = " + v
}

// tomlString quotes s as a TOML string: a basic string, or a literal one
// when s holds a backslash or a double quote.
func tomlString(s string) string {
	if strings.ContainsAny(s, `\"`) {
		return "'" + s + "'"
	}
	return `"` + s + `"`
}

// decodeKinds reads the TOML kind out of the decoder's type errors, the
// only place it is given ("cannot decode TOML string into ...").
var decodeKinds = regexp.MustCompile(`^toml: cannot decode TOML (.+?) into `)

// decodeError rewrites the decoder's error as file:line:column: key: what
// is wrong and an example.
func decodeError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var b strings.Builder
		for i, e := range strict.Errors {
			if i > 0 {
				b.WriteString("\n")
			}
			row, _ := e.Position()
			fmt.Fprintf(&b, "%s:%d: unknown key %q; check its spelling against the documented keys", path, row, strings.Join(e.Key(), "."))
		}
		return errors.New(b.String())
	}
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return fmt.Errorf("%s: %w", path, err)
	}
	row, col := de.Position()
	where := fmt.Sprintf("%s:%d:%d", path, row, col)
	f, ok := lookup(de.Key())
	kind := decodeKinds.FindStringSubmatch(de.Error())
	if len(de.Key()) == 0 || !ok {
		if kind != nil { // never Go's names for the key and its type
			return fmt.Errorf("%s: %s is not what %q takes; check it against the documented keys", where, article(kind[1])+" "+kind[1], strings.Join(de.Key(), "."))
		}
		return fmt.Errorf("%s: %s", where, strings.TrimPrefix(de.Error(), "toml: "))
	}
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	if m := kind; m != nil {
		msg = fmt.Sprintf("must be %s, not %s %s", f.what(), article(m[1]), m[1])
	}
	if ex := f.example(); ex != "" {
		msg += "; for example: " + ex
	}
	return fmt.Errorf("%s: %s: %s", where, f.key, msg)
}

func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an"
	}
	return "a"
}

// checkDurations reports duration keys written as TOML integers, which the
// decoder takes as nanoseconds ("timeout = 30" would be 30ns). raw is the
// document decoded into maps.
func checkDurations(path string, raw map[string]any) error {
	var msgs []string
	var walk func(t reflect.Type, v any, key []string)
	walk = func(t reflect.Type, v any, key []string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch v := v.(type) {
		case map[string]any:
			if t.Kind() != reflect.Struct {
				return
			}
			for k, sub := range v {
				if f, ok := fieldByKey(t, k); ok {
					walk(f.Type, sub, append(key[:len(key):len(key)], k))
				}
			}
		case []any:
			if t.Kind() == reflect.Slice {
				for _, sub := range v {
					walk(t.Elem(), sub, key)
				}
			}
		case string:
		default:
			if t == durationType {
				f, _ := lookup(key)
				msgs = append(msgs, fmt.Sprintf("%s: %s: must be %s, not a number (which would mean nanoseconds); for example: %s",
					path, f.key, f.what(), f.example()))
			}
		}
	}
	walk(reflect.TypeFor[Config](), raw, nil)
	slices.Sort(msgs)
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "\n"))
	}
	return nil
}
