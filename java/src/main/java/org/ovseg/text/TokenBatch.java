package org.ovseg.text;

import java.util.Arrays;

/**
 * A batch of token id rows padded to a common context length, as returned by
 * {@link ClipTokenizer#tokenizeBatch(java.util.List, int)} and
 * {@link WordPieceTokenizer#tokenizeBatch(java.util.List, int)}.
 *
 * <p>{@link #ids()} is row-major {@code [rows, contextLength]}, padded with the tokenizer's padding
 * id: {@code 0} for CLIP, {@link WordPieceTokenizer#padId()} (the id of [PAD], 0 in Google's BERT
 * vocabularies) for WordPiece. {@link #lengths()} holds each row's true length, start and end
 * tokens included. Immutable: accessors return copies.
 */
public final class TokenBatch {

    private final int rows;
    private final int contextLength;
    private final int[] ids;
    private final int[] lengths;

    TokenBatch(int rows, int contextLength, int[] ids, int[] lengths) {
        this.rows = rows;
        this.contextLength = contextLength;
        this.ids = ids;
        this.lengths = lengths;
    }

    /** @return the number of rows (input texts) */
    public int rows() {
        return rows;
    }

    /** @return the padded row length */
    public int contextLength() {
        return contextLength;
    }

    /** @return a copy of the flat row-major id array of size {@code rows * contextLength}, padded */
    public int[] ids() {
        return ids.clone();
    }

    /** @return a copy of the per-row true lengths (start and end tokens included) */
    public int[] lengths() {
        return lengths.clone();
    }

    /**
     * @param row row index
     * @return the true length of that row (start and end tokens included)
     */
    public int length(int row) {
        return lengths[row];
    }

    /**
     * @param row row index
     * @return a copy of the padded row, {@code contextLength} ids
     */
    public int[] row(int row) {
        return Arrays.copyOfRange(ids, row * contextLength, (row + 1) * contextLength);
    }

    /** @return the batch as a fresh {@code int[rows][contextLength]} array, padded */
    public int[][] toArray() {
        int[][] out = new int[rows][];
        for (int r = 0; r < rows; r++) {
            out[r] = row(r);
        }
        return out;
    }
}
