using System.Globalization;
using System.Text;

namespace Aha.Tokenizer.Jinja;

enum TokenKind { Text, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, Eof }

readonly record struct Token(TokenKind Kind, string Value, int Line, int Column, object? Literal = null)
{
    public bool Is(TokenKind kind, string value) => Kind == kind && Value == value;
    public bool IsName(string name) => Is(TokenKind.Name, name);
    public bool IsOp(string op) => Is(TokenKind.Operator, op);
}

/// <summary>
/// Splits a template into text and tag tokens the way Jinja2's lexer does with transformers' options: trim_blocks (one newline
/// after a block or comment tag is dropped), lstrip_blocks (spaces and tabs before a block or comment tag at the start of a line
/// are dropped), '-' on either side of a tag strips all whitespace on that side, '+' keeps it, newlines are normalised to \n and
/// one trailing newline of the template is dropped (keep_trailing_newline=False).
/// </summary>
static class JinjaLexer
{
    static readonly string[] Operators = ["**", "//", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    public static List<Token> Tokenize(string template, string source)
    {
        string text = NormalizeNewlines(template);
        var lineStarts = new List<int> { 0 };
        for (int i = 0; i < text.Length; i++) if (text[i] == '\n') lineStarts.Add(i + 1);
        (int Line, int Column) At(int index)
        {
            int line = lineStarts.BinarySearch(index);
            if (line < 0) line = ~line - 1;
            return (line + 1, index - lineStarts[line] + 1);
        }
        JinjaTemplateException Error(int index, string what)
        {
            var (line, column) = At(index);
            return new JinjaTemplateException(source, line, column, what);
        }
        Token Make(TokenKind kind, string value, int index, object? literal = null)
        {
            var (line, column) = At(index);
            return new Token(kind, value, line, column, literal);
        }

        var tokens = new List<Token>();
        int pos = 0;
        bool lineStarting = true;
        while (pos < text.Length)
        {
            int start = FindTagStart(text, pos);
            string data = text[pos..(start < 0 ? text.Length : start)];
            if (start < 0)
            {
                if (data.Length > 0) tokens.Add(Make(TokenKind.Text, data, pos));
                break;
            }
            char kind = text[start + 1];
            char modifier = start + 2 < text.Length && text[start + 2] is '-' or '+' ? text[start + 2] : '\0';
            if (modifier == '-') data = PyString.RStrip(data);
            else if (modifier != '+' && kind != '{')
            {
                // lstrip_blocks: drop the whitespace between the last newline (or a line start) and a block or comment tag.
                int lineStart = data.LastIndexOf('\n') + 1;
                if ((lineStart > 0 || lineStarting) && lineStart < data.Length && PyString.AllSpace(data, lineStart))
                    data = data[..lineStart];
            }
            if (data.Length > 0) tokens.Add(Make(TokenKind.Text, data, pos));
            int inner = start + 2 + (modifier == '\0' ? 0 : 1);

            if (kind == '#')
            {
                int close = text.IndexOf("#}", inner, StringComparison.Ordinal);
                if (close < 0) throw Error(start, "unclosed comment: '{#' has no matching '#}'");
                bool dash = close - 1 >= inner && text[close - 1] == '-';
                pos = EndOfTag(text, close + 2, dash, trimNewline: true);
                lineStarting = pos > close + 2 && text[pos - 1] == '\n';
                continue;
            }

            bool block = kind == '%';
            tokens.Add(Make(block ? TokenKind.BlockBegin : TokenKind.VariableBegin, text.Substring(start, inner - start), start));
            pos = inner;
            var brackets = new Stack<char>();
            while (true)
            {
                while (pos < text.Length && PyString.IsSpace(text[pos])) pos++;
                if (pos >= text.Length) throw Error(start, $"unclosed tag: '{text.Substring(start, inner - start)}' has no matching '{(block ? "%}" : "}}")}'");
                if (brackets.Count == 0 && TryTagEnd(text, pos, block, out int endLength, out bool dash, out bool plus))
                {
                    tokens.Add(Make(block ? TokenKind.BlockEnd : TokenKind.VariableEnd, text.Substring(pos, endLength), pos));
                    int after = pos + endLength;
                    pos = EndOfTag(text, after, dash, trimNewline: block && !plus);
                    lineStarting = pos > after ? text[pos - 1] == '\n' : false;
                    break;
                }
                char c = text[pos];
                if (c is '\'' or '"')
                {
                    int begin = pos;
                    var value = ReadString(text, ref pos, Error);
                    tokens.Add(Make(TokenKind.String, text[begin..pos], begin, value));
                }
                else if (char.IsAsciiDigit(c))
                {
                    int begin = pos;
                    while (pos < text.Length && (char.IsAsciiDigit(text[pos]) || text[pos] == '_')) pos++;
                    bool afterDot = tokens.Count > 0 && tokens[^1].IsOp(".");
                    bool isFloat = false;
                    if (!afterDot && pos + 1 < text.Length && text[pos] == '.' && char.IsAsciiDigit(text[pos + 1]))
                    {
                        isFloat = true;
                        pos++;
                        while (pos < text.Length && (char.IsAsciiDigit(text[pos]) || text[pos] == '_')) pos++;
                    }
                    if (!afterDot && pos < text.Length && text[pos] is 'e' or 'E')
                    {
                        int save = pos++;
                        if (pos < text.Length && text[pos] is '+' or '-') pos++;
                        if (pos < text.Length && char.IsAsciiDigit(text[pos]))
                        {
                            isFloat = true;
                            while (pos < text.Length && char.IsAsciiDigit(text[pos])) pos++;
                        }
                        else pos = save;
                    }
                    string literal = text[begin..pos].Replace("_", "");
                    tokens.Add(isFloat
                        ? Make(TokenKind.Float, literal, begin, double.Parse(literal, CultureInfo.InvariantCulture))
                        : Make(TokenKind.Integer, literal, begin, long.TryParse(literal, CultureInfo.InvariantCulture, out var n) ? n
                            : throw Error(begin, $"integer literal {literal} is too large (Aha's Jinja keeps integers in 64 bits)")));
                }
                else if (char.IsAsciiLetter(c) || c == '_')
                {
                    int begin = pos;
                    while (pos < text.Length && (char.IsAsciiLetterOrDigit(text[pos]) || text[pos] == '_')) pos++;
                    tokens.Add(Make(TokenKind.Name, text[begin..pos], begin));
                }
                else
                {
                    string? op = Operators.FirstOrDefault(o => string.CompareOrdinal(text, pos, o, 0, o.Length) == 0);
                    if (op is null) throw Error(pos, $"unexpected character '{c}' inside a tag");
                    if (op is "(" or "[" or "{") brackets.Push(op[0]);
                    else if (op is ")" or "]" or "}")
                    {
                        char open = op == ")" ? '(' : op == "]" ? '[' : '{';
                        if (brackets.Count == 0 || brackets.Pop() != open) throw Error(pos, $"unexpected '{op}'");
                    }
                    tokens.Add(Make(TokenKind.Operator, op, pos));
                    pos += op.Length;
                }
            }
        }
        tokens.Add(Make(TokenKind.Eof, "", text.Length));
        return tokens;
    }

    /// <summary>Jinja2 splits on \r\n, \r and \n, drops one empty last line, and joins with \n.</summary>
    static string NormalizeNewlines(string template)
    {
        string text = template.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        return text.EndsWith('\n') ? text[..^1] : text;
    }

    static int FindTagStart(string text, int from)
    {
        for (int i = text.IndexOf('{', from); i >= 0 && i + 1 < text.Length; i = text.IndexOf('{', i + 1))
            if (text[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    static bool TryTagEnd(string text, int pos, bool block, out int length, out bool dash, out bool plus)
    {
        string close = block ? "%}" : "}}";
        dash = plus = false;
        length = 0;
        if (string.CompareOrdinal(text, pos, close, 0, 2) == 0) { length = 2; return true; }
        if (pos + 2 < text.Length && text[pos] is '-' or '+' && string.CompareOrdinal(text, pos + 1, close, 0, 2) == 0)
        {
            dash = text[pos] == '-';
            plus = text[pos] == '+';
            if (plus && !block) return false;
            length = 3;
            return true;
        }
        return false;
    }

    /// <summary>Position after a tag's end: '-' eats all following whitespace; otherwise trim_blocks eats one newline.</summary>
    static int EndOfTag(string text, int pos, bool dash, bool trimNewline)
    {
        if (dash)
        {
            while (pos < text.Length && PyString.IsSpace(text[pos])) pos++;
            return pos;
        }
        return trimNewline && pos < text.Length && text[pos] == '\n' ? pos + 1 : pos;
    }

    /// <summary>A quoted string literal, decoded as Jinja2 decodes it (Python's unicode-escape rules).</summary>
    static string ReadString(string text, ref int position, Func<int, string, JinjaTemplateException> error)
    {
        int pos = position;
        char quote = text[pos];
        int begin = pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= text.Length) throw error(begin, "unterminated string literal");
            char c = text[pos++];
            if (c == quote) { position = pos; return sb.ToString(); }
            if (c != '\\') { sb.Append(c); continue; }
            if (pos >= text.Length) throw error(begin, "unterminated string literal");
            char e = text[pos++];
            switch (e)
            {
                case '\n': break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case 'x': sb.Append(Hex(2)); break;
                case 'u': sb.Append(Hex(4)); break;
                case 'U': sb.Append(Hex(8)); break;
                case >= '0' and <= '7':
                    int value = e - '0';
                    for (int k = 0; k < 2 && pos < text.Length && text[pos] is >= '0' and <= '7'; k++) value = value * 8 + (text[pos++] - '0');
                    sb.Append(char.ConvertFromUtf32(value));
                    break;
                default: sb.Append('\\').Append(e); break;
            }
        }

        string Hex(int digits)
        {
            if (pos + digits > text.Length || !int.TryParse(text.AsSpan(pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                throw error(pos - 2, $"malformed \\{text[pos - 1]} escape in a string literal");
            pos += digits;
            // As Python: a lone surrogate stays in the string as one char; past U+10FFFF is a syntax error.
            if (code is < 0 or > 0x10FFFF) throw error(pos - digits - 2, "illegal Unicode character");
            return code is >= 0xD800 and <= 0xDFFF ? ((char)code).ToString() : char.ConvertFromUtf32(code);
        }
    }
}
