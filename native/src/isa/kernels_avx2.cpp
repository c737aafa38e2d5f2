// AVX2 + FMA: 6 x 16 block = 12 ymm accumulators, 2 for B, 1 broadcast (of 16 registers).
#define OVSEG_ISA_TABLE kIsaAvx2
#define OVSEG_ISA_NAME "avx2"
#define OVSEG_MR 6
#define OVSEG_NR 16
#define OVSEG_MC 96
#define OVSEG_KC 256
#include "kernels.inc"
