package org.ovseg.engine;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.ovseg.tensor.HostTensor;

/**
 * Child-JVM main for {@link LongCommandLineTest} and {@link org.ovseg.LibraryLoggingTest}: opens
 * the ONNX file in args[0] through {@link Engines} on the CPU, runs it on the main thread with
 * x = [0, 1, 2, 3] and prints the output as {@code y= v0 v1 v2 v3}. Further arguments are only
 * there to make the command line long. With {@code -Dchild.appLog=true} it then logs one INFO
 * record of its own through java.util.logging.
 */
public final class OrtChild {
    private OrtChild() {}

    /** @param args model path, then anything */
    public static void main(String[] args) {
        EngineOptions cpu = EngineOptions.builder().backend(Backend.CPU).intraOpThreads(1).build();
        try (Engine e = Engines.open(Path.of(args[0]), cpu); HostTensor x = HostTensor.of(new float[] {0, 1, 2, 3}, 1, 4)) {
            Map<String, HostTensor> out = e.run(Map.of("x", x));
            try (HostTensor y = out.get("y")) {
                StringBuilder sb = new StringBuilder("y=");
                for (float v : y.toFloatArray()) sb.append(String.format(Locale.ROOT, " %.9f", v));
                System.out.println(sb);
            }
        }
        System.out.println("arguments: " + args.length);
        // An application's own log record: ovseg's quiet default must not silence it.
        if (Boolean.getBoolean("child.appLog")) java.util.logging.Logger.getLogger("app").info("application record");
    }
}
