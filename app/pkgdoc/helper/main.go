// Command godoc prints the documentation of every package in a Go module zip as one
// JSON object, as `go doc` sees it for linux/amd64: Depot's package pages are made
// from it (app/pkgdoc). It is built by Depot with its pinned toolchain, from the
// standard library alone, so the documentation is the Go toolchain's own reading
// of the source, not a second parser's.
//
// Usage: godoc -zip FILE -module PATH -version VERSION
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/doc/comment"
	"go/parser"
	"go/printer"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxSource bounds the Go source read from one zip: a module's zip may hold 500 MiB.
const maxSource = 256 << 20

const root = "/m"

// Link marks runes [Start, End) of a declaration's text as naming Name in the package
// Path ("" for the package documented); Name "" links the package itself.
type Link struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Path  string `json:"path"`
	Name  string `json:"name"`
}

// Decl is a declaration as go doc prints it, with its identifiers' links.
type Decl struct {
	Text  string `json:"text"`
	Links []Link `json:"links"`
}

type Example struct {
	Name      string `json:"name"`
	Suffix    string `json:"suffix"`
	Doc       string `json:"doc"`
	Code      string `json:"code"`
	Output    string `json:"output"`
	HasOutput bool   `json:"has_output"`
	Unordered bool   `json:"unordered"`
}

type Value struct {
	Names      []string `json:"names"`
	Decl       Decl     `json:"decl"`
	Doc        string   `json:"doc"`
	File       string   `json:"file"`
	Line       int      `json:"line"`
	Deprecated bool     `json:"deprecated"`
}

type Func struct {
	Name       string    `json:"name"`
	Recv       string    `json:"recv"`
	Decl       Decl      `json:"decl"`
	Doc        string    `json:"doc"`
	File       string    `json:"file"`
	Line       int       `json:"line"`
	Deprecated bool      `json:"deprecated"`
	Examples   []Example `json:"examples"`
}

type Type struct {
	Name       string    `json:"name"`
	Decl       Decl      `json:"decl"`
	Doc        string    `json:"doc"`
	File       string    `json:"file"`
	Line       int       `json:"line"`
	Deprecated bool      `json:"deprecated"`
	Consts     []Value   `json:"consts"`
	Vars       []Value   `json:"vars"`
	Funcs      []Func    `json:"funcs"`
	Methods    []Func    `json:"methods"`
	Examples   []Example `json:"examples"`
}

type Package struct {
	ImportPath string    `json:"import_path"`
	Dir        string    `json:"dir"`
	Name       string    `json:"name"`
	Synopsis   string    `json:"synopsis"`
	Doc        string    `json:"doc"`
	Deprecated bool      `json:"deprecated"`
	Command    bool      `json:"command"`
	Internal   bool      `json:"internal"`
	Imports    []string  `json:"imports"`
	GoFiles    []string  `json:"go_files"`
	Ignored    []string  `json:"ignored_files"`
	Consts     []Value   `json:"consts"`
	Vars       []Value   `json:"vars"`
	Funcs      []Func    `json:"funcs"`
	Types      []Type    `json:"types"`
	Examples   []Example `json:"examples"`
	Errors     []string  `json:"errors"`
}

type Output struct {
	Module    string    `json:"module"`
	Version   string    `json:"version"`
	GOOS      string    `json:"goos"`
	GOARCH    string    `json:"goarch"`
	GoVersion string    `json:"go_version"`
	Packages  []Package `json:"packages"`
}

func main() {
	zipFile := flag.String("zip", "", "the module zip")
	module := flag.String("module", "", "the module path")
	version := flag.String("version", "", "the version")
	flag.Parse()
	if *zipFile == "" || *module == "" || *version == "" {
		fmt.Fprintln(os.Stderr, "usage: godoc -zip FILE -module PATH -version VERSION")
		os.Exit(2)
	}
	out, err := document(*zipFile, *module, *version)
	if err != nil {
		fmt.Fprintln(os.Stderr, "godoc:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "godoc:", err)
		os.Exit(1)
	}
}

// tree is the zip's Go files (and the folders holding them) under root.
type tree struct {
	files map[string][]byte
	dirs  map[string]map[string]bool // folder -> names in it (a trailing / marks a folder)
}

func readZip(name, module, version string) (*tree, error) {
	r, err := zip.OpenReader(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	prefix := module + "@" + version + "/"
	t := &tree{files: map[string][]byte{}, dirs: map[string]map[string]bool{root: {}}}
	total := 0
	for _, f := range r.File {
		if !strings.HasPrefix(f.Name, prefix) || !strings.HasSuffix(f.Name, ".go") ||
			f.FileInfo().IsDir() {
			continue
		}
		rel := strings.TrimPrefix(f.Name, prefix)
		if rel == "" || strings.Contains(rel, "\\") || path.Clean(rel) != rel ||
			strings.HasPrefix(rel, "../") {
			continue
		}
		total += int(f.UncompressedSize64)
		if total > maxSource {
			return nil, fmt.Errorf("more than %d MiB of Go source", maxSource>>20)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxSource))
		rc.Close()
		if err != nil {
			return nil, err
		}
		full := root + "/" + rel
		t.files[full] = data
		t.add(full, false)
	}
	return t, nil
}

func (t *tree) add(full string, isDir bool) {
	parent, name := path.Split(full)
	parent = strings.TrimSuffix(parent, "/")
	if isDir {
		name += "/"
	}
	if t.dirs[parent] == nil {
		t.dirs[parent] = map[string]bool{}
		if parent != root {
			t.add(parent, true)
		}
	}
	t.dirs[parent][name] = true
}

type info struct {
	name string
	size int64
	dir  bool
}

func (i info) Name() string       { return i.name }
func (i info) Size() int64        { return i.size }
func (i info) Mode() fs.FileMode  { return map[bool]fs.FileMode{true: fs.ModeDir | 0o555, false: 0o444}[i.dir] }
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.dir }
func (i info) Sys() any           { return nil }

// context reads the tree as go/build would read a folder, for linux/amd64.
func (t *tree) context() *build.Context {
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = "linux", "amd64", true
	ctx.GOPATH, ctx.Dir = "", ""
	ctx.JoinPath = path.Join
	ctx.IsAbsPath = func(p string) bool { return strings.HasPrefix(p, "/") }
	ctx.IsDir = func(p string) bool { _, ok := t.dirs[p]; return ok }
	ctx.HasSubdir = func(r, dir string) (string, bool) {
		if dir == r {
			return "", true
		}
		if strings.HasPrefix(dir, r+"/") {
			return strings.TrimPrefix(dir, r+"/"), true
		}
		return "", false
	}
	ctx.ReadDir = func(dir string) ([]fs.FileInfo, error) {
		names, ok := t.dirs[dir]
		if !ok {
			return nil, fs.ErrNotExist
		}
		var out []fs.FileInfo
		for name := range names {
			if strings.HasSuffix(name, "/") {
				out = append(out, info{name: strings.TrimSuffix(name, "/"), dir: true})
			} else {
				out = append(out, info{name: name, size: int64(len(t.files[dir+"/"+name]))})
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
		return out, nil
	}
	ctx.OpenFile = func(p string) (io.ReadCloser, error) {
		data, ok := t.files[p]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	return &ctx
}

// skipped says whether go would leave a folder out of the module's packages.
func skipped(rel string) bool {
	for _, elem := range strings.Split(rel, "/") {
		if elem == "testdata" || elem == "vendor" || strings.HasPrefix(elem, ".") ||
			strings.HasPrefix(elem, "_") {
			return true
		}
	}
	return false
}

func document(zipFile, module, version string) (*Output, error) {
	t, err := readZip(zipFile, module, version)
	if err != nil {
		return nil, err
	}
	ctx := t.context()
	out := &Output{Module: module, Version: version, GOOS: ctx.GOOS, GOARCH: ctx.GOARCH,
		GoVersion: runtime.Version(), Packages: []Package{}}
	var folders []string
	for dir := range t.dirs {
		folders = append(folders, dir)
	}
	sort.Strings(folders)
	for _, dir := range folders {
		rel := strings.TrimPrefix(strings.TrimPrefix(dir, root), "/")
		if rel != "" && skipped(rel) {
			continue
		}
		hasGo := false
		for name := range t.dirs[dir] {
			if strings.HasSuffix(name, ".go") {
				hasGo = true
				break
			}
		}
		if !hasGo {
			continue
		}
		importPath := module
		if rel != "" {
			importPath += "/" + rel
		}
		out.Packages = append(out.Packages, documentDir(ctx, t, dir, rel, importPath))
	}
	return out, nil
}

func isInternal(importPath string) bool {
	for _, elem := range strings.Split(importPath, "/") {
		if elem == "internal" {
			return true
		}
	}
	return false
}

func documentDir(ctx *build.Context, t *tree, dir, rel, importPath string) Package {
	p := Package{ImportPath: importPath, Dir: rel, Internal: isInternal(importPath),
		Imports: []string{}, GoFiles: []string{}, Ignored: []string{}, Errors: []string{}}
	bp, err := ctx.ImportDir(dir, 0)
	if err != nil {
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			p.Errors = append(p.Errors, "no Go files for linux/amd64 (build constraints exclude all of them)")
		} else {
			p.Errors = append(p.Errors, strings.ReplaceAll(err.Error(), root+"/", ""))
		}
		if bp == nil || len(bp.GoFiles)+len(bp.CgoFiles) == 0 {
			if bp != nil {
				p.Ignored = append(p.Ignored, bp.IgnoredGoFiles...)
				p.Name = bp.Name
			}
			return p
		}
	}
	p.Name = bp.Name
	p.Command = bp.Name == "main"
	for _, imp := range bp.Imports {
		if imp != "C" {
			p.Imports = append(p.Imports, imp)
		}
	}
	p.GoFiles = append(append(p.GoFiles, bp.GoFiles...), bp.CgoFiles...)
	sort.Strings(p.GoFiles)
	p.Ignored = append(p.Ignored, bp.IgnoredGoFiles...)

	fset := token.NewFileSet()
	var files []*ast.File
	byName := map[string]*ast.File{}
	names := append(append([]string{}, p.GoFiles...), bp.TestGoFiles...)
	names = append(names, bp.XTestGoFiles...)
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, t.files[dir+"/"+name], parser.ParseComments)
		if err != nil {
			p.Errors = append(p.Errors, err.Error())
			continue
		}
		files = append(files, f)
		byName[name] = f
	}
	dp, err := doc.NewFromFiles(fset, files, importPath)
	if err != nil {
		p.Errors = append(p.Errors, err.Error())
		return p
	}
	d := &documenter{fset: fset, pkg: dp, files: byName, rel: rel, names: topNames(dp)}
	d.printer = dp.Printer()
	d.printer.DocLinkURL = docLinkURL
	p.Synopsis = dp.Synopsis(dp.Doc)
	p.Doc = d.html(dp.Doc)
	p.Deprecated = deprecated(dp.Doc)
	p.Consts = d.values(dp.Consts)
	p.Vars = d.values(dp.Vars)
	p.Funcs = d.funcs(dp.Funcs)
	for _, dt := range dp.Types {
		typ := Type{Name: dt.Name, Decl: d.decl(dt.Decl), Doc: d.html(dt.Doc),
			Deprecated: deprecated(dt.Doc), Consts: d.values(dt.Consts), Vars: d.values(dt.Vars),
			Funcs: d.funcs(dt.Funcs), Methods: d.funcs(dt.Methods), Examples: d.examples(dt.Examples)}
		typ.File, typ.Line = d.where(dt.Decl)
		p.Types = append(p.Types, typ)
	}
	if p.Types == nil {
		p.Types = []Type{}
	}
	p.Examples = d.examples(dp.Examples)
	return p
}

// docLinkURL is where a doc comment's [Name] or [pkg.Name] points: "#Name" in this
// package; "depot-pkg:PATH#Name" elsewhere, for Depot to resolve (app/pkgdoc).
func docLinkURL(link *comment.DocLink) string {
	frag := link.Name
	if link.Recv != "" {
		frag = link.Recv + "." + link.Name
	}
	if link.ImportPath == "" {
		return "#" + frag
	}
	url := "depot-pkg:" + link.ImportPath
	if frag != "" {
		url += "#" + frag
	}
	return url
}

var deprecatedPara = regexp.MustCompile(`(?m)(?:\A|\n\n)Deprecated: `)

// deprecated reports a doc comment with a paragraph starting "Deprecated: ", the Go
// convention the go command and gopls read.
func deprecated(text string) bool {
	return deprecatedPara.MatchString(text)
}

type documenter struct {
	fset    *token.FileSet
	pkg     *doc.Package
	printer *comment.Printer
	files   map[string]*ast.File
	rel     string
	names   map[string]bool
}

func topNames(p *doc.Package) map[string]bool {
	names := map[string]bool{}
	addValues := func(vs []*doc.Value) {
		for _, v := range vs {
			for _, n := range v.Names {
				names[n] = true
			}
		}
	}
	addValues(p.Consts)
	addValues(p.Vars)
	for _, f := range p.Funcs {
		names[f.Name] = true
	}
	for _, t := range p.Types {
		names[t.Name] = true
		addValues(t.Consts)
		addValues(t.Vars)
		for _, f := range t.Funcs {
			names[f.Name] = true
		}
	}
	return names
}

func (d *documenter) html(text string) string {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	return string(d.printer.HTML(d.pkg.Parser().Parse(text)))
}

func (d *documenter) where(n ast.Node) (string, int) {
	pos := d.fset.Position(n.Pos())
	return pos.Filename, pos.Line
}

func (d *documenter) values(vs []*doc.Value) []Value {
	out := []Value{}
	for _, v := range vs {
		val := Value{Names: v.Names, Decl: d.decl(v.Decl), Doc: d.html(v.Doc),
			Deprecated: deprecated(v.Doc)}
		val.File, val.Line = d.where(v.Decl)
		out = append(out, val)
	}
	return out
}

func (d *documenter) funcs(fs []*doc.Func) []Func {
	out := []Func{}
	for _, f := range fs {
		fn := Func{Name: f.Name, Recv: f.Recv, Decl: d.decl(f.Decl), Doc: d.html(f.Doc),
			Deprecated: deprecated(f.Doc), Examples: d.examples(f.Examples)}
		fn.File, fn.Line = d.where(f.Decl)
		out = append(out, fn)
	}
	return out
}

func (d *documenter) examples(exs []*doc.Example) []Example {
	out := []Example{}
	for _, ex := range exs {
		e := Example{Name: ex.Name, Suffix: ex.Suffix, Doc: d.html(ex.Doc), Output: ex.Output,
			HasOutput: ex.Output != "" || ex.EmptyOutput, Unordered: ex.Unordered}
		var buf bytes.Buffer
		cfg := printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}
		if ex.Play != nil {
			cfg.Fprint(&buf, d.fset, ex.Play)
			e.Code = buf.String()
		} else {
			cfg.Fprint(&buf, d.fset, &printer.CommentedNode{Node: ex.Code, Comments: ex.Comments})
			e.Code = unwrapBlock(buf.String())
		}
		out = append(out, e)
	}
	return out
}

// unwrapBlock turns "{\n\tstmt\n}" into "stmt", as go doc shows an example's body.
func unwrapBlock(code string) string {
	code = strings.TrimSpace(code)
	if !strings.HasPrefix(code, "{") || !strings.HasSuffix(code, "}") {
		return code
	}
	lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(code, "{"), "}"), "\n")
	for i, line := range lines {
		lines[i] = strings.TrimPrefix(line, "\t")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

// decl prints a declaration as go doc does (no doc comment, no function body, the
// comments inside kept) and finds the names its types and values refer to.
func (d *documenter) decl(node ast.Decl) Decl {
	var buf bytes.Buffer
	cfg := printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}
	switch n := node.(type) {
	case *ast.FuncDecl:
		short := *n
		short.Doc, short.Body = nil, nil
		cfg.Fprint(&buf, d.fset, &short)
	case *ast.GenDecl:
		short := *n
		short.Doc = nil
		cfg.Fprint(&buf, d.fset, &printer.CommentedNode{Node: &short, Comments: d.inside(n)})
	}
	text := buf.String()
	imports := d.importNames(node)
	return Decl{Text: text, Links: d.links(text, imports)}
}

// inside is the comments of a declaration's file that lie within it (its fields').
func (d *documenter) inside(n *ast.GenDecl) []*ast.CommentGroup {
	f := d.files[d.fset.Position(n.Pos()).Filename]
	if f == nil {
		return nil
	}
	var out []*ast.CommentGroup
	for _, c := range f.Comments {
		if c.Pos() > n.Pos() && c.End() < n.End() {
			out = append(out, c)
		}
	}
	return out
}

var majorSuffix = regexp.MustCompile(`^v[0-9]+$`)
var dotMajor = regexp.MustCompile(`\.v[0-9]+$`)

// guessName is the name an import is known by when its file gives none: the last
// path element, without a major version, as go doc guesses it.
func guessName(importPath string) string {
	elems := strings.Split(importPath, "/")
	name := elems[len(elems)-1]
	if majorSuffix.MatchString(name) && len(elems) > 1 {
		name = elems[len(elems)-2]
	}
	name = dotMajor.ReplaceAllString(name, "")
	name = strings.TrimPrefix(name, "go-")
	name = strings.TrimSuffix(name, "-go")
	name = strings.TrimSuffix(name, ".go")
	return strings.ReplaceAll(name, "-", "_")
}

// importNames maps the names a declaration's file imports packages by to their paths.
func (d *documenter) importNames(node ast.Node) map[string]string {
	out := map[string]string{}
	f := d.files[d.fset.Position(node.Pos()).Filename]
	if f == nil {
		return out
	}
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		name := guessName(p)
		if spec.Name != nil {
			name = spec.Name.Name
		}
		if name != "_" && name != "." {
			out[name] = p
		}
	}
	return out
}

// runeIndex maps a byte offset of text to its rune offset (what Python indexes by),
// in constant time: a table of 200,000 values was 90 % of x/tools' time counted anew.
func runeIndex(text string) func(int) int {
	if utf8.RuneCountInString(text) == len(text) {
		return func(b int) int { return b }
	}
	table := make([]int, len(text)+1)
	n := 0
	for i := range text { // i: the byte offset of each rune's start
		table[i] = n
		n++
	}
	table[len(text)] = n // the parser's positions fall on a rune's start, or at the end
	return func(b int) int { return table[b] }
}

// links parses the printed declaration again and marks each identifier that names a
// type, constant, variable or function: of this package (exported ones) or, qualified,
// of an imported one. Parameter, field and method names are not marked.
func (d *documenter) links(text string, imports map[string]string) []Link {
	const prefix = "package p\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", prefix+text, parser.SkipObjectResolution)
	if err != nil || len(f.Decls) != 1 {
		return []Link{}
	}
	out := []Link{}
	runes := runeIndex(text)
	offset := func(pos token.Pos) int {
		return runes(fset.Position(pos).Offset - len(prefix))
	}
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Field:
			if x.Type != nil {
				ast.Inspect(x.Type, visit)
			}
			return false
		case *ast.KeyValueExpr:
			ast.Inspect(x.Value, visit)
			return false
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok {
				if p, ok := imports[id.Name]; ok {
					out = append(out, Link{Start: offset(id.Pos()), End: offset(id.End()), Path: p})
					out = append(out, Link{Start: offset(x.Sel.Pos()), End: offset(x.Sel.End()),
						Path: p, Name: x.Sel.Name})
					return false
				}
			}
		case *ast.Ident:
			if d.names[x.Name] {
				out = append(out, Link{Start: offset(x.Pos()), End: offset(x.End()), Name: x.Name})
			}
		}
		return true
	}
	switch decl := f.Decls[0].(type) {
	case *ast.FuncDecl:
		if decl.Recv != nil {
			ast.Inspect(decl.Recv, visit)
		}
		ast.Inspect(decl.Type, visit)
	case *ast.GenDecl:
		for _, spec := range decl.Specs {
			switch s := spec.(type) {
			case *ast.TypeSpec:
				if s.TypeParams != nil {
					ast.Inspect(s.TypeParams, visit)
				}
				ast.Inspect(s.Type, visit)
			case *ast.ValueSpec:
				if s.Type != nil {
					ast.Inspect(s.Type, visit)
				}
				for _, v := range s.Values {
					ast.Inspect(v, visit)
				}
			}
		}
	}
	return out
}
