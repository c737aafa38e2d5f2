# Rewrites a CUDA source into C++ for the host emulation (cmake -DIN=... -DOUT=... -P translate.cmake):
#   k<<<grid, block, smem, stream>>>(args)  ->  k * ::ovseg_emu::Launch("k", grid, block, smem, stream)(args)
#   __shared__ T name[dims];                ->  static T name[dims]; ::ovseg_emu::shared_decl(name, sizeof name);
# Anything left untranslated fails to compile: the emulation headers define neither.
file(READ "${IN}" src)
string(REGEX REPLACE "([A-Za-z_][A-Za-z0-9_]*(<[^<>;]*>)?)<<<"
       "\\1 * ::ovseg_emu::Launch(\"\\1\", " src "${src}")
string(REPLACE ">>>(" ")(" src "${src}")
string(REGEX REPLACE "__shared__ ([^;\\[]*[ *])([A-Za-z_][A-Za-z0-9_]*)(\\[[^;]*\\]);"
       "static \\1\\2\\3; ::ovseg_emu::shared_decl(\\2, sizeof \\2);" src "${src}")
file(WRITE "${OUT}.tmp" "#line 1 \"${IN}\"\n${src}")
file(RENAME "${OUT}.tmp" "${OUT}")
