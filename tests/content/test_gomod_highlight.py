from __future__ import annotations

from app.content.gomod_highlight import highlight_gomod

GOMOD = """// Deprecated: use example.com/new
module go.uber.org/zap

go 1.21

require (
\tgo.uber.org/atomic v1.10.0
\tgithub.com/x/y v0.0.0-20240102030405-abcdefabcdef // indirect
)

replace example.com/a => ../a

retract [v1.0.0, v1.0.5] // <script>alert(1)</script>
"""


def test_directives_paths_versions_and_comments_get_classes():
    html = str(highlight_gomod(GOMOD))
    assert '<span class="k">module</span> <span class="nn">go.uber.org/zap</span>' in html
    assert '<span class="k">go</span> <span class="m">1.21</span>' in html
    assert '<span class="nn">go.uber.org/atomic</span> <span class="m">v1.10.0</span>' in html
    assert '<span class="o">=&gt;</span>' in html
    assert '<span class="c1">// indirect</span>' in html


def test_everything_is_escaped():
    html = str(highlight_gomod(GOMOD))
    assert "<script>" not in html and "&lt;script&gt;" in html
