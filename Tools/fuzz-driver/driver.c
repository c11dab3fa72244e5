// Intentionally empty: a C target needs one source file; the declaration is all we need.
#include "CFuzzerDriver.h"
