// CXXHash: the xxHash library (Debian: libxxhash-dev) for the line protocol's stream checksum.
//
// Only XXH3-64 is used, through the *_dispatch entry points, which pick the widest vector unit
// the CPU has (AVX2, SSE2, ...) at run time. No variadic functions here, so no wrappers needed.
#include <xxhash.h>
#include <xxh_x86dispatch.h>
