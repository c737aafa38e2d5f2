package org.ovseg.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.image.ImageDecodeException;

/** Path rules of the job (which paths are local, stems) and its Hadoop-FileSystem reads and writes, without Spark. */
class LocationsTest {
    @TempDir
    Path tmp;

    @Test
    void localMeansNoSchemeOrFile() {
        assertTrue(Locations.isLocal("/data/a.png"));
        assertTrue(Locations.isLocal("data/a.png"));
        assertTrue(Locations.isLocal("file:/data/a.png"));
        assertTrue(Locations.isLocal("FILE:///data/a.png"));
        assertTrue(Locations.isLocal("odd:name.png".substring(4))); // "name.png"
        assertFalse(Locations.isLocal("hdfs://nn:8020/data/a.png"));
        assertFalse(Locations.isLocal("s3a://bucket/a.png"));
        assertEquals(Path.of("/work/dir/data/a.png"), Locations.local("data/../data/a.png", "/work/dir"));
        assertEquals(Path.of("/data/a b.png"), Locations.local("file:///data/a%20b.png", "/elsewhere"));
        assertEquals(Path.of("/data/a.png"), Locations.local("/data/a.png", "/elsewhere"));
        assertEquals("file:///work/dir/x.csv", Locations.forHadoop("x.csv", "/work/dir"));
        assertEquals("hdfs://nn/x.csv", Locations.forHadoop("hdfs://nn/x.csv", "/work/dir"));
    }

    @Test
    void stemIsTheFileNameWithoutItsLastExtension() {
        assertEquals("b.c", CorpusInput.stem("hdfs://nn/a/b.c.png"));
        assertEquals("photo", CorpusInput.stem("photo.JPG"));
        assertEquals(".hidden", CorpusInput.stem("/x/.hidden"));
        assertEquals("noext", CorpusInput.stem("/x/noext"));
        assertTrue(CorpusInput.isImage("A.JPEG") && CorpusInput.isImage("b.gif") && !CorpusInput.isImage("c.txt") && !CorpusInput.isImage(".png"));
    }

    @Test
    void hadoopStoreReplacesWholeFilesAndLeavesNoTemporary() throws Exception {
        Locations.LabelStore store = new Locations.Hadoop(new org.apache.hadoop.fs.Path(tmp.toUri()), new Configuration());
        byte[] first = {1, 2, 3}, second = new byte[100_000];
        second[99_999] = 7;
        String where = store.write("x.labels.png", first);
        assertArrayEquals(first, Files.readAllBytes(tmp.resolve("x.labels.png")));
        assertEquals(where, store.write("x.labels.png", second));
        assertArrayEquals(second, Files.readAllBytes(tmp.resolve("x.labels.png")));
        try (Stream<Path> s = Files.list(tmp)) {
            assertTrue(s.noneMatch(f -> f.getFileName().toString().endsWith(".part")));
        }
    }

    @Test
    void hadoopReadsWholeFilesAndNamesMissingOnes() throws Exception {
        byte[] bytes = new byte[70_000];
        bytes[12_345] = 9;
        Files.write(tmp.resolve("img.png"), bytes);
        assertArrayEquals(bytes, Locations.readHadoop(tmp.resolve("img.png").toUri().toString(), new Configuration()));
        String missing = tmp.resolve("none.png").toUri().toString();
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> Locations.readHadoop(missing, new Configuration()));
        assertEquals("image not found: " + missing, e.getMessage());
    }
}
