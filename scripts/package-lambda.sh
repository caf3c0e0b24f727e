#!/usr/bin/env bash
# Builds the AWS Lambda package (runtime provided.al2023) from an already built tbpay:
#   scripts/package-lambda.sh [BUILD_DIR]   -> BUILD_DIR/lambda/tbpay.zip (BUILD_DIR: build)
# The zip holds `bootstrap` at its root, bin/tbpay (stripped) and, in lib/, every shared library
# the binary needs plus the dynamic loader, so that it runs on Amazon Linux 2023 whatever glibc
# the build machine has: bootstrap starts the binary through the packaged loader.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
binary="$build/tbpay"
[ -x "$binary" ] || { echo "package-lambda: $binary not found (build first: make build)" >&2; exit 1; }
for tool in ldd strip zip; do
  command -v "$tool" >/dev/null || { echo "package-lambda: $tool is missing (scripts/deps.sh)" >&2; exit 1; }
done

out="$build/lambda"
stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lib"
strip --strip-all -o "$stage/bin/tbpay" "$binary"

# ldd prints "libfoo.so.1 => /path/libfoo.so.1 (0x...)" for libraries and
# "/lib64/ld-linux-x86-64.so.2 (0x...)" for the loader; linux-vdso has no file.
loader=""
while read -r name arrow path _; do
  if [ "$arrow" = "=>" ] && [ -f "$path" ]; then
    cp -L "$path" "$stage/lib/$name"
  elif [ "$arrow" != "=>" ] && [ -f "$name" ]; then
    loader="$name"
  elif [ "$arrow" = "=>" ]; then
    echo "package-lambda: $name is not found on this machine" >&2
    exit 1
  fi
done < <(ldd "$binary")
[ -n "$loader" ] || { echo "package-lambda: no dynamic loader in ldd output" >&2; exit 1; }
cp -L "$loader" "$stage/lib/ld-linux-x86-64.so.2"
chmod 644 "$stage/lib/"*
chmod 755 "$stage/lib/ld-linux-x86-64.so.2"
strip --strip-unneeded "$stage/lib/"*.so* 2>/dev/null || true

cat >"$stage/bootstrap" <<'BOOTSTRAP'
#!/bin/sh
# AWS Lambda (provided.al2023) runs this file. The binary starts through the loader and the
# libraries packaged beside it, not the system's, so the build machine's glibc comes along.
root=${LAMBDA_TASK_ROOT:-$(cd "$(dirname "$0")" && pwd)}
# The packaged OpenSSL looks for CA certificates where Debian keeps them; point it (and so the
# Kafka producer's TLS) at Amazon Linux's bundle unless the function sets its own.
if [ -z "${SSL_CERT_FILE:-}" ] && [ -f /etc/pki/tls/certs/ca-bundle.crt ]; then
  export SSL_CERT_FILE=/etc/pki/tls/certs/ca-bundle.crt
fi
exec "$root/lib/ld-linux-x86-64.so.2" --library-path "$root/lib" "$root/bin/tbpay" lambda "$@"
BOOTSTRAP
chmod 755 "$stage/bootstrap" "$stage/bin/tbpay"

rm -f "$out/tbpay.zip"
# -X: no extra file attributes; a fixed order keeps the zip reproducible enough to compare.
(cd "$stage" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | zip -q -9 -X "$out/tbpay.zip" -@)
size=$(stat -c %s "$out/tbpay.zip")
echo "package-lambda: $out/tbpay.zip ($((size / 1024)) KiB, $(ls "$stage/lib" | wc -l) files in lib/)"
