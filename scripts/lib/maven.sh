# Sourced by scripts/search-node and scripts/s3-server: resolve a pom's dependencies into
# the local Maven repository and write their classpath. Fetching is apart from starting:
# it has no deadline, says what it fetches and how far it got, and names the artifact the
# registry refused; a second call downloads nothing (Maven offline first).

. scripts/lib/progress.sh

# The local repository: $HOME/.m2/repository, said explicitly because Java takes its home
# from the password file, not from $HOME (so `HOME=$(mktemp -d)` really starts empty).
maven_repo() { printf '%s\n' "${DEPOT_MAVEN_REPO:-$HOME/.m2/repository}"; }

# True when FILE lists a classpath whose every jar is still there.
classpath_present() {
  local file=$1 jar jars
  [ -s "$file" ] || return 1
  IFS=: read -ra jars <"$file" || true  # one line, maybe with no newline at its end
  for jar in "${jars[@]}"; do
    [ -f "$jar" ] || return 1
  done
}

# maven_classpath NAME WHAT POM OUT: NAME prefixes every line, WHAT names the artifact.
maven_classpath() {
  local name=$1 what=$2 pom=$3 out=$4 repo log started
  repo=$(maven_repo)
  local goal=(-B -Dstyle.color=never -Dmaven.repo.local="$repo" -f "$pom" dependency:build-classpath
              -Dmdep.outputFile="$out.tmp")
  if mvn -q -o "${goal[@]}" >/dev/null 2>&1 && classpath_present "$out.tmp"; then
    mv "$out.tmp" "$out"
    return 0
  fi
  echo "$name: fetching $what and its dependencies from Maven Central into $repo" \
       "(once, no deadline)…" >&2
  log=$(mktemp "${TMPDIR:-/tmp}/depot-maven-XXXXXX")
  started=$SECONDS
  mvn "${goal[@]}" >"$log" 2>&1 &
  if ! wait_with_progress $! 15 maven_progress "$name" "$what" "$log" "$started" \
      || ! classpath_present "$out.tmp"; then
    maven_refusal "$name" "$what" "$log" >&2
    rm -f "$log" "$out.tmp"
    return 1
  fi
  echo "$name: fetched $what: $(maven_downloaded "$log") in $((SECONDS - started)) s" >&2
  rm -f "$log"
  mv "$out.tmp" "$out"
}

maven_progress() {
  echo "$1: still fetching $2: $(maven_downloaded "$3") so far, $((SECONDS - $4)) s"
}

# "N files, M MB" downloaded, read from Maven's transfer lines in LOG.
maven_downloaded() {
  awk '/Downloaded from / {
         n++
         if (match($0, /\(([0-9.]+) (B|kB|MB|GB)/)) {
           split(substr($0, RSTART + 1, RLENGTH - 1), p, " ")
           f = (p[2] == "GB") ? 1024 * 1024 : (p[2] == "MB") ? 1024 : (p[2] == "kB") ? 1 : 1 / 1024
           kb += p[1] * f
         }
       }
       END { printf "%d files, %.1f MB", n, kb / 1024 }' "$1"
}

# Why Maven failed, naming the artifacts it could not get, then its own error lines.
maven_refusal() {
  local name=$1 what=$2 log=$3 refused
  refused=$(grep -oE "(artifact|Plugin|POM for) [A-Za-z0-9_.:-]+" "$log" \
              | awk '{print $NF}' | sort -u | paste -sd ' ' -)
  echo "$name: Maven could not fetch ${refused:-$what} (needed for $what):"
  grep -E '^\[(ERROR|WARNING)\]' "$log" | grep -vE '^\[ERROR\] *$|Help 1|re-run Maven|full stack|For more information|Re-run Maven|\[Help' | head -n 8
}
