package org.ovseg.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.ovseg.Logging;
import org.ovseg.OvsegException;

/**
 * {@code ovseg <command> [options]}. Exit codes: 0 success, 2 bad input (one {@code error: ...}
 * line on stderr), 1 an internal failure.
 */
public final class Main {
    /** A subcommand: runs with the full argv (its name at index 0) and returns an exit code. */
    interface Command {
        int run(String[] argv, PrintStream out, PrintStream err) throws Exception;

        String summary();
    }

    private static Map<String, Command> commands() {
        Map<String, Command> c = new LinkedHashMap<>();
        c.put("info", new InfoCommand());
        c.put("segment", new SegmentCommand());
        c.put("eval", new EvalCommand());
        c.put("sam-masks", new SamMasksCommand());
        c.put("serve", new ServeCommand());
        c.put("models", new ModelsCommand());
        c.put("tokenize", new TokenizeCommand());
        c.put("bench", new BenchCommand());
        return c;
    }

    private Main() {}

    /** Entry point of the {@code ovseg} launcher. */
    public static void main(String[] argv) {
        configureLogging();
        int code = run(argv, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** Runs one command line; returns the exit code instead of exiting (for tests). */
    public static int run(String[] argv, PrintStream out, PrintStream err) {
        Map<String, Command> commands = commands();
        if (argv.length == 0 || argv[0].equals("-h") || argv[0].equals("--help") || argv[0].equals("help")) {
            usage(commands, argv.length == 0 ? err : out);
            return argv.length == 0 ? 2 : 0;
        }
        Command cmd = commands.get(argv[0]);
        if (cmd == null) {
            err.println("error: unknown command '" + argv[0] + "' (try: " + String.join(", ", commands.keySet()) + ")");
            return 2;
        }
        try {
            return cmd.run(argv, out, err);
        } catch (UsageException | IllegalArgumentException e) {
            err.println("error: " + oneLine(e.getMessage()));
            return 2;
        } catch (OvsegException e) {
            err.println("error: " + oneLine(e.getMessage()));
            return 2;
        } catch (Exception | LinkageError e) {
            err.println("error: internal failure: " + oneLine(String.valueOf(e)));
            if (System.getenv("OVSEG_DEBUG") != null) e.printStackTrace(err);
            return 1;
        }
    }

    /**
     * The CLI speaks through its own output: log records show from WARNING up, or from the level
     * in $OVSEG_LOG (e.g. OVSEG_LOG=info shows why a backend was chosen). Unlike the library
     * ({@link Logging}), the CLI owns the process, so it sets the root logger too.
     */
    private static void configureLogging() {
        java.util.logging.Level level = Logging.requested().orElse(java.util.logging.Level.WARNING);
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.setLevel(level);
        for (java.util.logging.Handler h : root.getHandlers()) h.setLevel(level);
    }

    static String oneLine(String s) {
        return OvsegException.oneLine(s);
    }

    private static void usage(Map<String, Command> commands, PrintStream ps) {
        ps.println("usage: ovseg <command> [options]");
        ps.println();
        for (var e : commands.entrySet()) ps.printf("  %-10s %s%n", e.getKey(), e.getValue().summary());
        ps.println();
        ps.println("Run 'ovseg <command> --help' for a command's options.");
    }

    static boolean wantsHelp(String[] argv) {
        return Arrays.asList(argv).contains("--help") || Arrays.asList(argv).contains("-h");
    }
}
