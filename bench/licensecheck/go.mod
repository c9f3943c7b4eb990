// A tiny helper for bench/licenses.py: runs google/licensecheck (the scanner
// pkg.go.dev uses) on license files and prints what it finds as JSON lines.
module depot.example/bench/licensecheck

go 1.22

require github.com/google/licensecheck v0.3.1
