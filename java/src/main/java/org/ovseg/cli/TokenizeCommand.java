package org.ovseg.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;
import java.util.StringJoiner;
import org.ovseg.text.ClipTokenizer;
import org.ovseg.text.VocabularyException;
import org.ovseg.text.WordPieceTokenizer;

/**
 * {@code ovseg tokenize TEXT...}: CLIP token ids of each argument, one line each, no padding; with
 * {@code --wordpiece vocab.txt}, BERT WordPiece ids ([CLS] ... [SEP]) or pieces instead.
 */
final class TokenizeCommand implements Main.Command {
    /** BERT's position limit, the usual max_length of its checkpoints. */
    private static final int BERT_MAX_LENGTH = 512;

    @Override
    public String summary() {
        return "print CLIP BPE token ids of each text (49406 ... 49407), or BERT WordPiece ids with --wordpiece, one line per argument";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        if (Main.wantsHelp(argv)) {
            out.println("usage: ovseg tokenize [--context-length N] TEXT [TEXT ...]");
            out.println("       ovseg tokenize --wordpiece VOCAB.txt [--cased] [--pieces] [--context-length N] TEXT [TEXT ...]");
            out.println("  --wordpiece  BERT WordPiece with this vocab.txt: [CLS] ids [SEP], truncated to N (default 512)");
            out.println("  --cased      keep case and accents (cased checkpoints); default lower-cases (uncased)");
            out.println("  --pieces     print the word pieces (no [CLS]/[SEP], not truncated) instead of ids");
            return 0;
        }
        Args a = Args.parse(argv, 1, Set.of("context-length", "wordpiece"), Set.of("cased", "pieces"));
        if (a.positional().isEmpty()) throw new UsageException("tokenize needs at least one text argument");
        String vocab = a.get("wordpiece", null);
        if (vocab == null) {
            if (a.flag("cased") || a.flag("pieces")) throw new UsageException("--cased and --pieces need --wordpiece");
            int ctx = a.intValue("context-length", ClipTokenizer.CONTEXT_LENGTH, 2, 1 << 20);
            ClipTokenizer tok = ClipTokenizer.shared();
            for (String text : a.positional()) out.println(join(tok.tokenize(text, ctx)));
            return 0;
        }
        int ctx = a.intValue("context-length", BERT_MAX_LENGTH, 2, 1 << 20);
        WordPieceTokenizer tok = loadWordPiece(Path.of(vocab), !a.flag("cased"));
        for (String text : a.positional()) {
            out.println(a.flag("pieces") ? String.join(" ", tok.pieces(text)) : join(tok.tokenize(text, ctx)));
        }
        return 0;
    }

    private static WordPieceTokenizer loadWordPiece(Path vocab, boolean lowerCase) {
        try {
            return WordPieceTokenizer.fromVocab(vocab, lowerCase);
        } catch (NoSuchFileException e) {
            throw new VocabularyException(vocab + ": no such file");
        } catch (IOException e) {
            throw new VocabularyException(vocab + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static String join(int[] ids) {
        StringJoiner j = new StringJoiner(" ");
        for (int id : ids) j.add(Integer.toString(id));
        return j.toString();
    }
}
