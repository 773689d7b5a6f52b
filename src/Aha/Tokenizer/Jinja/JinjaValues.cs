using System.Globalization;
using System.Text;

namespace Aha.Tokenizer.Jinja;

// Runtime values follow Python's: null is None; string, long (int), double (float), bool; List<object?> is a list (tuples
// too); JinjaDict a dict with insertion order; plus the Jinja objects below.

/// <summary>A dict: string keys in insertion order, as Python's dict keeps them.</summary>
sealed class JinjaDict : OrderedDictionary<string, object?>
{
    public JinjaDict() : base(StringComparer.Ordinal) { }
}

/// <summary>Jinja2's default Undefined: prints as empty, is falsy, iterates as empty; any other use is an error.</summary>
sealed class JinjaUndefined(string description)
{
    /// <summary>What is undefined, as Jinja2 words it ("'x' is undefined", "'dict object' has no attribute 'y'").</summary>
    public string Description { get; } = description;
}

/// <summary>The object <c>namespace(...)</c> returns: attributes a <c>{% set ns.attr = … %}</c> may change from inside a loop.</summary>
sealed class JinjaNamespace
{
    public Dictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>The <c>loop</c> variable of a for loop.</summary>
sealed class JinjaLoop(IReadOnlyList<object?> items)
{
    public int Index0 { get; set; }

    public object? Get(string name) => name switch
    {
        "index0" => (long)Index0,
        "index" => (long)Index0 + 1,
        "first" => Index0 == 0,
        "last" => Index0 == items.Count - 1,
        "length" => (long)items.Count,
        "revindex" => (long)(items.Count - Index0),
        "revindex0" => (long)(items.Count - Index0 - 1),
        "previtem" => Index0 > 0 ? items[Index0 - 1] : new JinjaUndefined("there is no previous item"),
        "nextitem" => Index0 < items.Count - 1 ? items[Index0 + 1] : new JinjaUndefined("there is no next item"),
        "depth" => 1L,
        "depth0" => 0L,
        "cycle" or "changed" => throw new JinjaRuntimeError($"loop.{name} is not supported by Aha's Jinja subset"),
        _ => new JinjaUndefined($"'LoopContext object' has no attribute '{name}'"),
    };
}

/// <summary>What select, reject, selectattr, rejectattr and map return: iterable once, no len(), not printable (as Python's generators).</summary>
sealed class JinjaGenerator(List<object?> items)
{
    public List<object?> Items { get; } = items;
}

/// <summary>A callable: a global function, a bound method of a string or dict, or a macro.</summary>
sealed class JinjaCallable(string name, Func<List<object?>, Dictionary<string, object?>, object?> invoke)
{
    public string Name { get; } = name;
    public object? Invoke(List<object?> args, Dictionary<string, object?> kwargs) => invoke(args, kwargs);
}

/// <summary>Python's semantics for the operations templates perform on values.</summary>
static class Py
{
    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        string => "str",
        bool => "bool",
        long => "int",
        double => "float",
        List<object?> => "list",
        JinjaDict => "dict",
        JinjaUndefined => "Undefined",
        JinjaNamespace => "Namespace",
        JinjaLoop => "LoopContext",
        JinjaCallable => "function",
        JinjaGenerator => "generator",
        _ => v.GetType().Name,
    };

    public static bool Truthy(object? v) => v switch
    {
        null or JinjaUndefined => false,
        bool b => b,
        long n => n != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        JinjaDict d => d.Count > 0,
        _ => true,
    };

    /// <summary>Python's str(), which is what <c>{{ value }}</c> prints; Undefined prints as empty.</summary>
    public static string Str(object? v) => v switch
    {
        string s => s,
        JinjaUndefined => "",
        null => "None",
        bool b => b ? "True" : "False",
        long n => n.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        List<object?> or JinjaDict => Repr(v),
        _ => throw new JinjaRuntimeError($"printing a {TypeName(v)} object is not supported by Aha's Jinja subset"),
    };

    public static string Repr(object? v)
    {
        switch (v)
        {
            case string s:
                char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
                var sb = new StringBuilder().Append(quote);
                foreach (char c in s)
                {
                    if (c == quote || c == '\\') sb.Append('\\').Append(c);
                    else if (c == '\n') sb.Append("\\n");
                    else if (c == '\r') sb.Append("\\r");
                    else if (c == '\t') sb.Append("\\t");
                    else if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                }
                return sb.Append(quote).ToString();
            case List<object?> list:
                return "[" + string.Join(", ", list.Select(Repr)) + "]";
            case JinjaDict dict:
                return "{" + string.Join(", ", dict.Select(kv => Repr(kv.Key) + ": " + Repr(kv.Value))) + "}";
            default:
                return Str(v);
        }
    }

    /// <summary>Python's float repr: shortest round-trip digits, exponent form outside [1e-4, 1e16).</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        // Shortest round-trip digits and decimal exponent.
        string shortest = d.ToString("R", CultureInfo.InvariantCulture);
        var (digits, exponent) = Decompose(shortest);
        string sign = d < 0 ? "-" : "";
        if (exponent < -4 || exponent >= 16)
        {
            string mantissa = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            return $"{sign}{mantissa}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
        }
        if (exponent < 0) return $"{sign}0.{new string('0', -exponent - 1)}{digits}";
        if (digits.Length <= exponent + 1) return $"{sign}{digits}{new string('0', exponent + 1 - digits.Length)}.0";
        return $"{sign}{digits[..(exponent + 1)]}.{digits[(exponent + 1)..]}";
    }

    static (string Digits, int Exponent) Decompose(string roundTrip)
    {
        string s = roundTrip.TrimStart('-');
        int exp = 0;
        int e = s.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exp = int.Parse(s[(e + 1)..], CultureInfo.InvariantCulture);
            s = s[..e];
        }
        int dot = s.IndexOf('.');
        string intPart = dot < 0 ? s : s[..dot], frac = dot < 0 ? "" : s[(dot + 1)..];
        string all = intPart + frac;
        int lead = all.Length - all.TrimStart('0').Length;
        string digits = all.Trim('0');
        if (digits.Length == 0) digits = "0";
        return (digits, exp + intPart.Length - 1 - lead);
    }

    static bool IsNumber(object? v) => v is long or double or bool;
    static double AsDouble(object? v) => v switch { long n => n, double d => d, bool b => b ? 1 : 0, _ => double.NaN };

    public static bool Equal(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a is JinjaUndefined || b is JinjaUndefined) return a is JinjaUndefined && b is JinjaUndefined;
        if (IsNumber(a) && IsNumber(b))
            return a is double || b is double ? AsDouble(a) == AsDouble(b) : AsLong(a) == AsLong(b);
        if (a is string sa && b is string sb) return string.Equals(sa, sb, StringComparison.Ordinal);
        if (a is List<object?> la && b is List<object?> lb) return la.Count == lb.Count && la.Zip(lb).All(p => Equal(p.First, p.Second));
        if (a is JinjaDict da && b is JinjaDict db)
            return da.Count == db.Count && da.All(kv => db.TryGetValue(kv.Key, out var other) && Equal(kv.Value, other));
        return ReferenceEquals(a, b);
    }

    public static long AsLong(object? v) => v switch { long n => n, bool b => b ? 1 : 0, _ => throw new InvalidCastException() };

    /// <summary>Python's &lt;, &lt;=, &gt;, &gt;= for numbers and strings; anything else is a TypeError.</summary>
    public static int Compare(object? a, object? b, string op)
    {
        if (IsNumber(a) && IsNumber(b))
            return a is double || b is double ? AsDouble(a).CompareTo(AsDouble(b)) : AsLong(a).CompareTo(AsLong(b));
        if (a is string sa && b is string sb) return string.CompareOrdinal(sa, sb);
        throw new JinjaRuntimeError($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    public static bool Contains(object? container, object? item) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        string => throw new JinjaRuntimeError($"'in <string>' requires string as left operand, not {TypeName(item)}"),
        List<object?> list => list.Any(x => Equal(x, item)),
        JinjaGenerator g => g.Items.Any(x => Equal(x, item)),
        JinjaDict dict => item is string key && dict.ContainsKey(key),
        JinjaUndefined => false,
        _ => throw new JinjaRuntimeError($"argument of type '{TypeName(container)}' is not iterable"),
    };

    /// <summary>The items a for loop visits: list items, dict keys, string characters; Undefined is empty.</summary>
    public static List<object?> Iterate(object? v) => v switch
    {
        List<object?> list => list,
        JinjaGenerator g => g.Items,
        JinjaDict dict => [.. dict.Keys],
        string s => [.. PyString.CodePoints(s)],
        JinjaUndefined => [],
        _ => throw new JinjaRuntimeError($"'{TypeName(v)}' object is not iterable"),
    };

    public static long Length(object? v) => v switch
    {
        string s => PyString.CodePoints(s).Count,
        List<object?> list => list.Count,
        JinjaDict dict => dict.Count,
        JinjaUndefined => 0,
        _ => throw new JinjaRuntimeError($"object of type '{TypeName(v)}' has no len()"),
    };

    /// <summary>Python slicing (negative indices and steps, clamped bounds) over a list or a string's code points.</summary>
    public static object Slice(object? target, long? start, long? stop, long? step)
    {
        long s = step ?? 1;
        if (s == 0) throw new JinjaRuntimeError("slice step cannot be zero");
        IReadOnlyList<object?> items = target switch
        {
            List<object?> list => list,
            string str => PyString.CodePoints(str),
            _ => throw new JinjaRuntimeError($"'{TypeName(target)}' object is not subscriptable"),
        };
        int n = items.Count;
        long Adjust(long? v, bool isStart)
        {
            if (v is not long x) return s > 0 ? (isStart ? 0 : n) : (isStart ? n - 1 : -1);
            if (x < 0) { x += n; if (x < 0) x = s < 0 ? -1 : 0; }
            else if (x >= n) x = s < 0 ? n - 1 : n;
            return x;
        }
        long from = Adjust(start, true), to = Adjust(stop, false);
        var result = new List<object?>();
        for (long i = from; s > 0 ? i < to : i > to; i += s) result.Add(items[(int)i]);
        return target is string ? string.Concat(result.Cast<string>()) : result;
    }

    /// <summary>Jinja2's getattr: Python attribute first (a method), then the item; missing is undefined.</summary>
    public static object? GetAttribute(object? target, string name)
    {
        switch (target)
        {
            case JinjaUndefined u: throw new JinjaRuntimeError(u.Description);
            case JinjaNamespace ns:
                return ns.Attributes.TryGetValue(name, out var v) ? v : new JinjaUndefined($"'Namespace object' has no attribute '{name}'");
            case JinjaLoop loop:
                return loop.Get(name);
        }
        if (JinjaBuiltins.Method(target, name) is { } method) return method;
        if (target is JinjaDict dict && dict.TryGetValue(name, out var item)) return item;
        return new JinjaUndefined($"'{Py.TypeName(target)} object' has no attribute '{name}'");
    }

    /// <summary>Jinja2's getitem: the item first, then (for a string key) the attribute; missing or out of range is undefined.</summary>
    public static object? GetItem(object? target, object? key)
    {
        switch (target)
        {
            case JinjaUndefined u: throw new JinjaRuntimeError(u.Description);
            case JinjaDict dict when key is string k && dict.TryGetValue(k, out var v): return v;
            case List<object?> list when key is long or bool:
                long i = Py.AsLong(key);
                if (i < 0) i += list.Count;
                return i >= 0 && i < list.Count ? list[(int)i] : new JinjaUndefined($"'list object' has no element {Py.AsLong(key)}");
            case string s when key is long or bool:
                var chars = PyString.CodePoints(s);
                long j = Py.AsLong(key);
                if (j < 0) j += chars.Count;
                return j >= 0 && j < chars.Count ? chars[(int)j] : new JinjaUndefined($"'str object' has no element {Py.AsLong(key)}");
        }
        if (key is string name) return GetAttribute(target, name);
        return new JinjaUndefined($"'{Py.TypeName(target)} object' has no element {Py.Repr(key)}");
    }
}
