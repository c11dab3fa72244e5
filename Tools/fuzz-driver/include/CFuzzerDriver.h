// CFuzzerDriver: declares libFuzzer's driver entry point so a SwiftPM executable (which has its
// own main) can hand control to libFuzzer. Defined only when linking with -sanitize=fuzzer.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
