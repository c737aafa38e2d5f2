package org.ovseg.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * GNU-style options for one subcommand: {@code --name value}, {@code --name=value}, repeatable
 * options, boolean flags, and positional arguments. Unknown options are errors, not ignored.
 */
final class Args {
    private final Map<String, List<String>> values = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();

    static Args parse(String[] argv, int from, Set<String> valued, Set<String> flags) {
        Args a = new Args();
        for (int i = from; i < argv.length; i++) {
            String s = argv[i];
            if (s.equals("--")) {
                for (int j = i + 1; j < argv.length; j++) a.positional.add(argv[j]);
                break;
            }
            if (!s.startsWith("--") || s.length() == 2) {
                a.positional.add(s);
                continue;
            }
            String name = s.substring(2), value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (flags.contains(name)) {
                if (value != null) throw new UsageException("option --" + name + " takes no value");
                a.values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
            } else if (valued.contains(name)) {
                if (value == null) {
                    if (i + 1 >= argv.length) throw new UsageException("option --" + name + " needs a value");
                    value = argv[++i];
                }
                a.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
            } else {
                throw new UsageException("unknown option --" + name);
            }
        }
        return a;
    }

    boolean flag(String name) {
        return values.containsKey(name);
    }

    String get(String name, String fallback) {
        List<String> v = values.get(name);
        if (v == null) return fallback;
        if (v.size() > 1) throw new UsageException("option --" + name + " given more than once");
        return v.get(0);
    }

    String require(String name) {
        String v = get(name, null);
        if (v == null) throw new UsageException("missing required option --" + name);
        return v;
    }

    List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    int intValue(String name, int fallback, int min, int max) {
        String v = get(name, null);
        if (v == null) return fallback;
        try {
            int x = Integer.parseInt(v.trim());
            if (x < min || x > max) throw new UsageException("--" + name + " must be between " + min + " and " + max + ", got " + x);
            return x;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
        }
    }

    long longValue(String name, long min, long max) {
        String v = get(name, null);
        try {
            long x = Long.parseLong(v.trim());
            if (x < min || x > max) throw new UsageException("--" + name + " must be between " + min + " and " + max + ", got " + x);
            return x;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
        }
    }

    List<String> positional() {
        return positional;
    }
}
