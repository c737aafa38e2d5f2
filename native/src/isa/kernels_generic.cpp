// Baseline x86-64 (SSE2): 4 x 8 register block.
#define OVSEG_ISA_TABLE kIsaGeneric
#define OVSEG_ISA_NAME "generic"
#define OVSEG_MR 4
#define OVSEG_NR 8
#define OVSEG_MC 64
#define OVSEG_KC 256
#include "kernels.inc"
