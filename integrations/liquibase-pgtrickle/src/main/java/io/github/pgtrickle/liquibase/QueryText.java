/*
 * QueryText: the form of a defining query that enters the checksum.
 *
 * Whitespace outside literals does not count: every run of spaces, tabs and
 * line breaks becomes one space, and leading and trailing whitespace goes.
 * Reindenting or rewrapping a query in a changelog therefore keeps the
 * changeset's checksum.  Everything else counts, byte for byte: the text of
 * string literals ('...', E'...', dollar-quoted), of quoted identifiers and
 * of comments, letter case, and whether there is whitespace between two
 * tokens at all.  A line comment keeps its line break, so that moving text
 * into or out of a comment changes the checksum.
 */
package io.github.pgtrickle.liquibase;

public final class QueryText {

    private QueryText() {
    }

    public static String normalize(String query) {
        if (query == null) {
            return null;
        }
        StringBuilder out = new StringBuilder(query.length());
        int n = query.length();
        int i = 0;
        boolean pendingSpace = false;
        boolean pendingNewline = false;
        while (i < n) {
            char c = query.charAt(i);
            if (Character.isWhitespace(c)) {
                pendingSpace = true;
                i++;
                continue;
            }
            if (pendingNewline) {
                out.append('\n');
            } else if (pendingSpace && out.length() > 0) {
                out.append(' ');
            }
            pendingSpace = false;
            pendingNewline = false;

            int end;
            if (c == '\'') {
                boolean escapes = i > 0 && (query.charAt(i - 1) == 'E' || query.charAt(i - 1) == 'e')
                    && (i < 2 || !isIdentChar(query.charAt(i - 2)));
                end = quotedEnd(query, i, '\'', escapes);
            } else if (c == '"') {
                end = quotedEnd(query, i, '"', false);
            } else if (c == '$' && (i == 0 || !isIdentChar(query.charAt(i - 1)))) {
                end = dollarEnd(query, i);
            } else if (c == '-' && i + 1 < n && query.charAt(i + 1) == '-') {
                end = query.indexOf('\n', i);
                end = end < 0 ? n : end;
                pendingNewline = end < n;
            } else if (c == '/' && i + 1 < n && query.charAt(i + 1) == '*') {
                end = blockCommentEnd(query, i);
            } else {
                end = i + 1;
            }
            out.append(query, i, end);
            i = end;
        }
        return out.toString();
    }

    private static boolean isIdentChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$';
    }

    /** End (exclusive) of a literal opened by quote at start; doubled quotes stay inside. */
    private static int quotedEnd(String s, int start, char quote, boolean backslashEscapes) {
        int i = start + 1;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (backslashEscapes && c == '\\') {
                i += 2;
            } else if (c == quote) {
                if (i + 1 < s.length() && s.charAt(i + 1) == quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            } else {
                i++;
            }
        }
        return s.length();
    }

    /** End of a dollar-quoted string at start, or start + 1 when $ opens none (a parameter $1). */
    private static int dollarEnd(String s, int start) {
        int j = start + 1;
        while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) {
            j++;
        }
        if (j >= s.length() || s.charAt(j) != '$' || (j > start + 1 && Character.isDigit(s.charAt(start + 1)))) {
            return start + 1;
        }
        String tag = s.substring(start, j + 1);
        int close = s.indexOf(tag, j + 1);
        return close < 0 ? s.length() : close + tag.length();
    }

    /** End of a (nestable) block comment at start. */
    private static int blockCommentEnd(String s, int start) {
        int depth = 0;
        int i = start;
        while (i + 1 < s.length()) {
            if (s.charAt(i) == '/' && s.charAt(i + 1) == '*') {
                depth++;
                i += 2;
            } else if (s.charAt(i) == '*' && s.charAt(i + 1) == '/') {
                depth--;
                i += 2;
                if (depth == 0) {
                    return i;
                }
            } else {
                i++;
            }
        }
        return s.length();
    }
}
