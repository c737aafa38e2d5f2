package org.ovseg.kernel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads the DT_NEEDED entries of a 64-bit little-endian ELF shared object (no readelf needed). */
final class ElfNeeded {
    private ElfNeeded() {}

    static List<String> read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0) != 0x464c457f || b.get(4) != 2) throw new IOException(file + ": not a 64-bit ELF");
        long shoff = b.getLong(0x28);
        int shentsize = b.getShort(0x3a) & 0xffff, shnum = b.getShort(0x3c) & 0xffff;
        List<String> needed = new ArrayList<>();
        for (int i = 0; i < shnum; i++) {
            int sh = (int) (shoff + (long) i * shentsize);
            if (b.getInt(sh + 4) != 6) continue; // SHT_DYNAMIC
            long off = b.getLong(sh + 0x18), size = b.getLong(sh + 0x20);
            int link = b.getInt(sh + 0x28);
            long strOff = b.getLong((int) (shoff + (long) link * shentsize) + 0x18);
            for (long e = off; e + 16 <= off + size; e += 16) {
                long tag = b.getLong((int) e);
                if (tag == 0) break;
                if (tag == 1) { // DT_NEEDED
                    int s = (int) (strOff + b.getLong((int) e + 8));
                    StringBuilder name = new StringBuilder();
                    while (b.get(s) != 0) name.append((char) b.get(s++));
                    needed.add(name.toString());
                }
            }
        }
        return needed;
    }
}
