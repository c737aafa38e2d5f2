// AVX-512F: 8 x 32 block = 16 zmm accumulators, 2 for B, 1 broadcast (of 32 registers).
#define OVSEG_ISA_TABLE kIsaAvx512
#define OVSEG_ISA_NAME "avx512"
#define OVSEG_MR 8
#define OVSEG_NR 32
#define OVSEG_MC 128
#define OVSEG_KC 256
#include "kernels.inc"
