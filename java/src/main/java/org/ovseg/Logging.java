package org.ovseg;

import java.util.Locale;
import java.util.Optional;
import java.util.logging.ConsoleHandler;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * ovseg's loggers, quiet by default like a library should be.
 *
 * <p>Every ovseg class logs through {@link #logger(Class)}, a {@link System.Logger}; with the
 * JDK's default backend those records go to java.util.logging, whose out-of-the-box
 * configuration prints INFO and up on stderr. So on first use this class sets a level on the
 * {@code "org.ovseg"} java.util.logging logger only — never on the root logger or its handlers,
 * which belong to the application:
 * <ul>
 *   <li>{@code OVSEG_LOG} set (e.g. {@code info}, {@code debug}, {@code warning}, {@code off}):
 *       that level. Below INFO, the root console handler would still drop the records, so ovseg
 *       gets its own stderr handler at that level (and stops passing records up, so none print
 *       twice).
 *   <li>Otherwise, when the application configured {@code org.ovseg.level} (logging.properties)
 *       or set a level on that logger before ovseg's first use: left alone.
 *   <li>Otherwise WARNING.
 * </ul>
 * An application that routes {@code System.Logger} elsewhere (its own {@code LoggerFinder})
 * configures ovseg there; the level set here is then never consulted.
 */
public final class Logging {
    /** ovseg's root logger name. */
    public static final String ROOT = "org.ovseg";

    // java.util.logging holds loggers weakly: without this reference the level set below could
    // be collected, and the next lookup would find a fresh, level-less logger.
    private static final Logger OVSEG = Logger.getLogger(ROOT);
    private static final java.util.logging.Level REQUESTED = parse(System.getenv("OVSEG_LOG")).orElse(null);

    static {
        configure(OVSEG, REQUESTED, LogManager.getLogManager().getProperty(ROOT + ".level") != null);
    }

    private Logging() {}

    /**
     * @return the logger for {@code c}, under ovseg's configured root
     */
    public static System.Logger logger(Class<?> c) {
        return System.getLogger(c.getName());
    }

    /**
     * @return the level {@code OVSEG_LOG} asks for, if it is set to a level name this class knows
     */
    public static Optional<java.util.logging.Level> requested() {
        return Optional.ofNullable(REQUESTED);
    }

    /**
     * @return the effective java.util.logging level of ovseg's root logger (what decides whether
     *     a record is kept before any handler sees it)
     */
    public static java.util.logging.Level effectiveLevel() {
        for (Logger l = OVSEG; l != null; l = l.getParent()) {
            if (l.getLevel() != null) return l.getLevel();
        }
        return java.util.logging.Level.INFO;
    }

    /**
     * Applies the policy above to {@code logger}; package-private for tests, which cannot set
     * environment variables.
     *
     * @param requested the level from {@code OVSEG_LOG}, or null when unset or unknown
     * @param configuredElsewhere whether logging.properties names a level for ovseg's root
     */
    static void configure(Logger logger, java.util.logging.Level requested, boolean configuredElsewhere) {
        if (requested != null) {
            logger.setLevel(requested);
            if (requested.intValue() < java.util.logging.Level.INFO.intValue()) {
                ConsoleHandler h = new ConsoleHandler();
                h.setLevel(requested);
                h.setFormatter(new SimpleFormatter());
                logger.addHandler(h);
                logger.setUseParentHandlers(false);
            }
        } else if (!configuredElsewhere && logger.getLevel() == null) {
            logger.setLevel(java.util.logging.Level.WARNING);
        }
    }

    /**
     * Reads an {@code OVSEG_LOG} value: java.util.logging's names (INFO, FINE, ...) or
     * System.Logger's (DEBUG, TRACE, ERROR, WARNING), any case.
     *
     * @return the level, or empty when {@code value} is null, blank or unknown
     */
    static Optional<java.util.logging.Level> parse(String value) {
        if (value == null || value.isBlank()) return Optional.empty();
        String v = value.trim().toUpperCase(Locale.ROOT);
        switch (v) {
            case "DEBUG": return Optional.of(java.util.logging.Level.FINE);
            case "TRACE": return Optional.of(java.util.logging.Level.FINER);
            case "ERROR": return Optional.of(java.util.logging.Level.SEVERE);
            case "WARN": return Optional.of(java.util.logging.Level.WARNING);
            default:
                try {
                    return Optional.of(java.util.logging.Level.parse(v));
                } catch (IllegalArgumentException e) {
                    return Optional.empty();
                }
        }
    }
}
