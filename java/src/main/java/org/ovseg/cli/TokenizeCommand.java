package org.ovseg.cli;

import java.io.PrintStream;
import java.util.Set;
import java.util.StringJoiner;
import org.ovseg.text.ClipTokenizer;

/** {@code ovseg tokenize TEXT...}: CLIP token ids of each argument, one line each, no padding. */
final class TokenizeCommand implements Main.Command {
    @Override
    public String summary() {
        return "print CLIP BPE token ids of each text (49406 ... 49407), one line per argument";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        if (Main.wantsHelp(argv)) {
            out.println("usage: ovseg tokenize [--context-length N] TEXT [TEXT ...]");
            return 0;
        }
        Args a = Args.parse(argv, 1, Set.of("context-length"), Set.of());
        if (a.positional().isEmpty()) throw new UsageException("tokenize needs at least one text argument");
        int ctx = a.intValue("context-length", ClipTokenizer.CONTEXT_LENGTH, 2, 1 << 20);
        ClipTokenizer tok = ClipTokenizer.shared();
        for (String text : a.positional()) {
            StringJoiner j = new StringJoiner(" ");
            for (int id : tok.tokenize(text, ctx)) j.add(Integer.toString(id));
            out.println(j);
        }
        return 0;
    }
}
