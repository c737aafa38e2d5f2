package org.ovseg.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ovseg.io.AtomicFiles;

/**
 * Per-image results kept as JSON lines, one complete line per scored image, appended and
 * flushed as each image finishes, so an interrupted evaluation loses at most the image in
 * progress. On opening, a last line cut short by the interruption is dropped (the file is
 * rewritten without it) and the other records are kept by their {@code "key"}.
 */
public final class ResultLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Map<String, ObjectNode> records = new LinkedHashMap<>();
    private final BufferedWriter writer;

    /** Opens (or creates) the log at {@code file}. */
    public ResultLog(Path file) throws IOException {
        if (Files.exists(file)) {
            List<String> good = new ArrayList<>();
            boolean dropped = false;
            byte[] bytes = Files.readAllBytes(file);
            String text = new String(bytes, StandardCharsets.UTF_8);
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                String line = lines[i];
                boolean complete = i < lines.length - 1; // the last piece has no newline after it: written only in part
                if (line.isBlank()) continue;
                ObjectNode n = complete ? parse(line) : null;
                if (n == null || !n.hasNonNull("key")) {
                    dropped = true;
                    continue;
                }
                records.put(n.get("key").asText(), n);
                good.add(line);
            }
            if (dropped) AtomicFiles.write(file, p -> Files.write(p, good.isEmpty() ? new byte[0] : (String.join("\n", good) + "\n").getBytes(StandardCharsets.UTF_8)));
        }
        writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private static ObjectNode parse(String line) {
        try {
            JsonNode n = JSON.readTree(line);
            return n instanceof ObjectNode o ? o : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** @return the record of image {@code key}, or null when it has none */
    public ObjectNode get(String key) {
        return records.get(key);
    }

    /** @return how many images have a record */
    public int size() {
        return records.size();
    }

    /** Appends a record (it must have a {@code "key"}) as one line and flushes it to the file. */
    public void append(ObjectNode record) throws IOException {
        String key = record.get("key").asText();
        writer.write(JSON.writeValueAsString(record));
        writer.write('\n');
        writer.flush();
        records.put(key, record);
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }
}
