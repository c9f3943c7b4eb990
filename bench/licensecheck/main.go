// Command licensecheck-json scans license files with github.com/google/licensecheck
// and prints one JSON object per file, so Depot's Python benchmark can compare its
// own detector with the one pkg.go.dev runs. It only reports what the scanner
// finds; every policy (thresholds, allow-lists) is applied by the caller.
//
// Usage:
//
//	licensecheck-json [FILE...]  (no FILE: read file paths from stdin, one a line)
//	licensecheck-json -ids       (the ids of the built-in licenses, as one JSON array)
//	licensecheck-json -lre DIR [FILE...]
//
// -lre adds the license patterns (*.lre, licensecheck's template form) of DIR
// before the built-in ones, the way pkgsite adds its exceptions
// (internal/licenses/exceptions). A pattern may name the license types it stands
// for with {{Types "A B"}}; each match then reports those types.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/google/licensecheck"
)

// maxFileSize matches the module-zip limit on a LICENSE file (16 MiB); bigger files
// are reported with an error instead of being scanned.
const maxFileSize = 16 << 20

type match struct {
	ID    string   `json:"id"`
	Types []string `json:"types"`
	Start int      `json:"start"`
	End   int      `json:"end"`
	IsURL bool     `json:"is_url"`
}

type result struct {
	Path    string  `json:"path"`
	Percent float64 `json:"percent"`
	Matches []match `json:"matches"`
	Error   string  `json:"error,omitempty"`
}

// scanner is the built-in one unless -lre adds patterns; types maps an added
// pattern's id to the license types it reports.
var (
	scanner = func(data []byte) licensecheck.Coverage { return licensecheck.Scan(data) }
	types   = map[string][]string{}
)

// loadPatterns reads DIR/*.lre as one template set (files may share {{define}}
// blocks), renders each file and puts the non-empty ones before the built-ins.
func loadPatterns(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.lre"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no *.lre files in %s", dir)
	}
	var declared []string
	funcs := template.FuncMap{
		"Types": func(s string) string { declared = strings.Fields(s); return "" },
		"Type":  func(string) string { return "" },
		"list":  func(xs ...any) []any { return xs },
	}
	set, err := template.New("").Funcs(funcs).ParseFiles(files...)
	if err != nil {
		return err
	}
	var added []licensecheck.License
	for _, t := range set.Templates() {
		if !strings.HasSuffix(t.Name(), ".lre") {
			continue
		}
		declared = nil
		var buf bytes.Buffer
		if err := t.Execute(&buf, nil); err != nil {
			return fmt.Errorf("%s: %w", t.Name(), err)
		}
		if len(bytes.TrimSpace(buf.Bytes())) == 0 {
			continue // only definitions for other files
		}
		id := strings.TrimSuffix(t.Name(), ".lre")
		added = append(added, licensecheck.License{ID: id, LRE: buf.String()})
		if declared != nil {
			types[id] = declared
		}
	}
	sort.Slice(added, func(i, j int) bool { return added[i].ID < added[j].ID })
	s, err := licensecheck.NewScanner(append(added, licensecheck.BuiltinLicenses()...))
	if err != nil {
		return err
	}
	scanner = s.Scan
	return nil
}

func scanFile(path string) result {
	r := result{Path: path, Matches: []match{}}
	f, err := os.Open(path)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		r.Error = err.Error()
		return r
	}
	if len(data) > maxFileSize {
		r.Error = fmt.Sprintf("larger than %d bytes", maxFileSize)
		return r
	}
	cov := scanner(data)
	r.Percent = cov.Percent
	for _, m := range cov.Match {
		ts := types[m.ID]
		if ts == nil {
			ts = []string{m.ID}
		}
		r.Matches = append(r.Matches, match{ID: m.ID, Types: ts, Start: m.Start, End: m.End, IsURL: m.IsURL})
	}
	return r
}

// builtinIDs lists what the scanner can recognise, so the caller can tell "not in
// licensecheck's set" from "in the set but not matched".
func builtinIDs() []string {
	seen := map[string]bool{}
	ids := []string{}
	for _, l := range licensecheck.BuiltinLicenses() {
		if !seen[l.ID] {
			seen[l.ID] = true
			ids = append(ids, l.ID)
		}
	}
	return ids
}

func main() {
	listIDs := flag.Bool("ids", false, "print the ids of the built-in licenses and exit")
	lreDir := flag.String("lre", "", "also match the *.lre patterns of this directory")
	flag.Parse()
	if *lreDir != "" {
		if err := loadPatterns(*lreDir); err != nil {
			fmt.Fprintln(os.Stderr, "licensecheck-json:", err)
			os.Exit(1)
		}
	}
	out := json.NewEncoder(os.Stdout)
	if *listIDs {
		if err := out.Encode(builtinIDs()); err != nil {
			fmt.Fprintln(os.Stderr, "licensecheck-json:", err)
			os.Exit(1)
		}
		return
	}
	emit := func(path string) {
		if err := out.Encode(scanFile(path)); err != nil {
			fmt.Fprintln(os.Stderr, "licensecheck-json:", err)
			os.Exit(1)
		}
	}
	if flag.NArg() > 0 {
		for _, path := range flag.Args() {
			emit(path)
		}
		return
	}
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		if path := lines.Text(); path != "" {
			emit(path)
		}
	}
	if err := lines.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "licensecheck-json:", err)
		os.Exit(1)
	}
}
