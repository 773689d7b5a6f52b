using System.Globalization;
using System.Text;

namespace Aha.Tokenizer.Jinja;

/// <summary>Python's str methods and json.dumps, on .NET strings; lengths and indices count code points, as Python does.</summary>
static class PyString
{
    /// <summary>Python's str.isspace for one UTF-16 unit (.NET's char.IsWhiteSpace misses U+001C..U+001F).</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    public static bool AllSpace(string s, int from)
    {
        for (int i = from; i < s.Length; i++) if (!IsSpace(s[i])) return false;
        return true;
    }

    public static List<object?> CodePoints(string s)
    {
        var result = new List<object?>(s.Length);
        foreach (var rune in s.EnumerateRunes()) result.Add(rune.ToString());
        return result;
    }

    static Func<char, bool> Matcher(string? chars) => chars is null ? IsSpace : c => chars.Contains(c);

    public static string Strip(string s, string? chars = null) => RStrip(LStrip(s, chars), chars);

    public static string LStrip(string s, string? chars = null)
    {
        var strip = Matcher(chars);
        int i = 0;
        while (i < s.Length && strip(s[i])) i++;
        return s[i..];
    }

    public static string RStrip(string s, string? chars = null)
    {
        var strip = Matcher(chars);
        int j = s.Length;
        while (j > 0 && strip(s[j - 1])) j--;
        return s[..j];
    }

    /// <summary>str.split(sep=None, maxsplit=-1): on runs of whitespace when <paramref name="sep"/> is null.</summary>
    public static List<object?> Split(string s, string? sep, long maxSplit)
    {
        var parts = new List<object?>();
        if (sep is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && IsSpace(s[i])) i++;
                if (i >= s.Length) break;
                if (maxSplit >= 0 && parts.Count == maxSplit) { parts.Add(RStrip(s[i..])); break; }
                int j = i;
                while (j < s.Length && !IsSpace(s[j])) j++;
                parts.Add(s[i..j]);
                i = j;
            }
            return parts;
        }
        if (sep.Length == 0) throw new JinjaRuntimeError("empty separator");
        int start = 0;
        while (maxSplit < 0 || parts.Count < maxSplit)
        {
            int at = s.IndexOf(sep, start, StringComparison.Ordinal);
            if (at < 0) break;
            parts.Add(s[start..at]);
            start = at + sep.Length;
        }
        parts.Add(s[start..]);
        return parts;
    }

    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0) return old.Length == 0 ? InsertEverywhere(s, replacement) : s.Replace(old, replacement, StringComparison.Ordinal);
        var sb = new StringBuilder();
        int start = 0;
        for (long done = 0; done < count; done++)
        {
            int at = s.IndexOf(old, start, StringComparison.Ordinal);
            if (at < 0 || old.Length == 0) break;
            sb.Append(s, start, at - start).Append(replacement);
            start = at + old.Length;
        }
        return sb.Append(s, start, s.Length - start).ToString();
    }

    static string InsertEverywhere(string s, string insert) =>
        insert + string.Concat(CodePoints(s).Select(c => (string)c! + insert));

    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            bool cased = char.IsLetter(c);
            sb.Append(cased ? previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c) : c);
            previousCased = cased;
        }
        return sb.ToString();
    }

    /// <summary>
    /// json.dumps(value, ensure_ascii=False, indent=…, separators=…, sort_keys=…) as transformers' tojson filter calls it:
    /// separators default to (", ", ": "), or (",", ": ") with an indent.
    /// </summary>
    public static string Json(object? value, string? indent, string? itemSeparator, string? keySeparator, bool sortKeys)
    {
        itemSeparator ??= indent is null ? ", " : ",";
        keySeparator ??= ": ";
        var sb = new StringBuilder();
        Write(value, 0);
        return sb.ToString();

        void NewLine(int level)
        {
            if (indent is null) return;
            sb.Append('\n');
            for (int i = 0; i < level; i++) sb.Append(indent);
        }

        void Write(object? v, int level)
        {
            switch (v)
            {
                case null: sb.Append("null"); break;
                case bool b: sb.Append(b ? "true" : "false"); break;
                case long n: sb.Append(n.ToString(CultureInfo.InvariantCulture)); break;
                case double d:
                    sb.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : Py.FloatRepr(d));
                    break;
                case string s: WriteString(s); break;
                case List<object?> list:
                    if (list.Count == 0) { sb.Append("[]"); break; }
                    sb.Append('[');
                    for (int i = 0; i < list.Count; i++)
                    {
                        if (i > 0) sb.Append(itemSeparator);
                        NewLine(level + 1);
                        Write(list[i], level + 1);
                    }
                    NewLine(level);
                    sb.Append(']');
                    break;
                case JinjaDict dict:
                    if (dict.Count == 0) { sb.Append("{}"); break; }
                    sb.Append('{');
                    var pairs = sortKeys ? dict.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList() : dict.ToList();
                    for (int i = 0; i < pairs.Count; i++)
                    {
                        if (i > 0) sb.Append(itemSeparator);
                        NewLine(level + 1);
                        WriteString(pairs[i].Key);
                        sb.Append(keySeparator);
                        Write(pairs[i].Value, level + 1);
                    }
                    NewLine(level);
                    sb.Append('}');
                    break;
                default:
                    throw new JinjaRuntimeError($"Object of type {Py.TypeName(v)} is not JSON serializable");
            }
        }

        void WriteString(string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }
    }
}
