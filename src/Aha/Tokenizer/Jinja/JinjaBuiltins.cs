using System.Globalization;

namespace Aha.Tokenizer.Jinja;

/// <summary>
/// The filters, tests, methods and globals of the subset, each with Jinja2's (or Python's) behaviour. A name outside these
/// lists is an error naming it, never a silent empty string.
/// </summary>
static class JinjaBuiltins
{
    /// <summary>Binds call arguments to named parameters, as Python does, refusing extras.</summary>
    sealed class Bound
    {
        readonly object?[] _values;
        readonly bool[] _given;

        public Bound(string what, string[] names, List<object?> args, Dictionary<string, object?> kwargs)
        {
            if (args.Count > names.Length) throw new JinjaRuntimeError($"{what} takes at most {names.Length} argument(s), got {args.Count}");
            _values = new object?[names.Length];
            _given = new bool[names.Length];
            for (int i = 0; i < args.Count; i++) { _values[i] = args[i]; _given[i] = true; }
            foreach (var (key, value) in kwargs)
            {
                int i = Array.IndexOf(names, key);
                if (i < 0) throw new JinjaRuntimeError($"{what} got an unexpected keyword argument '{key}'");
                if (_given[i]) throw new JinjaRuntimeError($"{what} got multiple values for argument '{key}'");
                _values[i] = value;
                _given[i] = true;
            }
        }

        public bool Has(int i) => _given[i] && _values[i] is not JinjaUndefined;
        public object? Get(int i, object? fallback = null) => _given[i] ? _values[i] : fallback;
        public string? String(int i, string what) => Has(i) && _values[i] is not null ? _values[i] as string ?? throw new JinjaRuntimeError($"{what} must be a string, not {Py.TypeName(_values[i])}") : null;
        public long Int(int i, long fallback, string what) => !Has(i) ? fallback : _values[i] is long or bool ? Py.AsLong(_values[i]) : throw new JinjaRuntimeError($"{what} must be an integer, not {Py.TypeName(_values[i])}");
    }

    /// <summary>Filter and test names the subset implements; the parser refuses others, as Jinja2 refuses unknown names at compile time.</summary>
    public static readonly HashSet<string> FilterNames =
    [
        "trim", "length", "count", "tojson", "string", "lower", "upper", "capitalize", "replace", "first", "last", "join", "default", "d",
        "items", "list", "reverse", "abs", "int", "float", "safe", "select", "reject", "selectattr", "rejectattr", "map",
    ];
    public static readonly HashSet<string> TestNames =
    [
        "defined", "undefined", "none", "string", "mapping", "iterable", "sequence", "number", "integer", "float", "boolean", "true",
        "false", "callable", "lower", "upper", "odd", "even", "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "<", "le", "<=",
        "gt", ">", "ge", ">=", "in", "sameas",
    ];

    /// <summary>Jinja2's attribute getter for selectattr/map: dotted paths, each part an item lookup (integers index lists).</summary>
    static object? Attribute(object? item, string path)
    {
        foreach (var part in path.Split('.'))
            item = Py.GetItem(item, long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : part);
        return item;
    }

    static string Text(object? v, string what) => v as string ?? throw new JinjaRuntimeError($"{what} expects a string, not {Py.TypeName(v)}");

    public static object? Filter(string name, object? value, List<object?> args, Dictionary<string, object?> kwargs)
    {
        string what = $"the filter '{name}'";
        switch (name)
        {
            case "trim":
            {
                var a = new Bound(what, ["chars"], args, kwargs);
                return PyString.Strip(Py.Str(value), a.String(0, "trim's chars"));
            }
            case "length" or "count":
                new Bound(what, [], args, kwargs);
                return Py.Length(value);
            case "tojson":
            {
                var a = new Bound(what, ["indent", "ensure_ascii", "separators", "sort_keys"], args, kwargs);
                if (a.Has(1) && Py.Truthy(a.Get(1))) throw new JinjaRuntimeError("tojson(ensure_ascii=True) is not supported by Aha's Jinja subset");
                string? indent = a.Get(0) switch
                {
                    null or JinjaUndefined => null,
                    long n => new string(' ', (int)Math.Max(0, n)),
                    string chars => chars,
                    var other => throw new JinjaRuntimeError($"tojson's indent must be an integer or a string, not {Py.TypeName(other)}"),
                };
                string? item = null, key = null;
                if (a.Has(2) && a.Get(2) is not null)
                {
                    if (a.Get(2) is not List<object?> { Count: 2 } seps || seps[0] is not string i || seps[1] is not string k)
                        throw new JinjaRuntimeError("tojson's separators must be a pair of strings");
                    (item, key) = (i, k);
                }
                return PyString.Json(value, indent, item, key, Py.Truthy(a.Get(3)));
            }
            case "string":
                new Bound(what, [], args, kwargs);
                return Py.Str(value);
            case "lower" or "upper":
                new Bound(what, [], args, kwargs);
                return name == "lower" ? Py.Str(value).ToLowerInvariant() : Py.Str(value).ToUpperInvariant();
            case "capitalize":
                new Bound(what, [], args, kwargs);
                return PyString.Capitalize(Py.Str(value));
            case "replace":
            {
                var a = new Bound(what, ["old", "new", "count"], args, kwargs);
                return PyString.Replace(Py.Str(value), Py.Str(a.Get(0)), Py.Str(a.Get(1)), a.Int(2, -1, "replace's count"));
            }
            case "first" or "last":
            {
                new Bound(what, [], args, kwargs);
                var items = Py.Iterate(value);
                return items.Count == 0 ? new JinjaUndefined($"No {name} item, sequence was empty.") : name == "first" ? items[0] : items[^1];
            }
            case "join":
            {
                var a = new Bound(what, ["d", "attribute"], args, kwargs);
                if (a.Has(1)) throw new JinjaRuntimeError("join(attribute=...) is not supported by Aha's Jinja subset");
                return string.Join(a.Has(0) ? Py.Str(a.Get(0)) : "", Py.Iterate(value).Select(Py.Str));
            }
            case "default" or "d":
            {
                var a = new Bound(what, ["default_value", "boolean"], args, kwargs);
                bool useDefault = value is JinjaUndefined || (Py.Truthy(a.Get(1, false)) && !Py.Truthy(value));
                return useDefault ? a.Get(0, "") : value;
            }
            case "items":
                new Bound(what, [], args, kwargs);
                return value switch
                {
                    JinjaUndefined => new List<object?>(),
                    JinjaDict dict => dict.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
                    _ => throw new JinjaRuntimeError($"Can only get item pairs from a mapping, not {Py.TypeName(value)}"),
                };
            case "list":
                new Bound(what, [], args, kwargs);
                return new List<object?>(Py.Iterate(value));
            case "reverse":
                new Bound(what, [], args, kwargs);
                return value is string text ? Py.Slice(text, null, null, -1) : Py.Slice(new List<object?>(Py.Iterate(value)), null, null, -1);
            case "abs":
                new Bound(what, [], args, kwargs);
                return value switch
                {
                    long n => (object)Math.Abs(n),
                    double d => Math.Abs(d),
                    bool b => b ? 1L : 0L,
                    _ => throw new JinjaRuntimeError($"bad operand type for abs(): '{Py.TypeName(value)}'"),
                };
            case "int":
            {
                var a = new Bound(what, ["default", "base"], args, kwargs);
                if (a.Has(1)) throw new JinjaRuntimeError("int(base=...) is not supported by Aha's Jinja subset");
                return value switch
                {
                    long n => n,
                    bool b => b ? 1L : 0L,
                    double d when double.IsFinite(d) => (long)Math.Truncate(d),
                    string t when long.TryParse(t.Trim().Replace("_", ""), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => n,
                    string t when double.TryParse(t.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) => (long)Math.Truncate(d),
                    _ => a.Get(0, 0L),
                };
            }
            case "float":
            {
                var a = new Bound(what, ["default"], args, kwargs);
                return value switch
                {
                    long n => (double)n,
                    double d => d,
                    bool b => b ? 1.0 : 0.0,
                    string t when double.TryParse(t.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
                    _ => a.Get(0, 0.0),
                };
            }
            case "safe":
                new Bound(what, [], args, kwargs);
                return value;
            case "select" or "reject" or "selectattr" or "rejectattr":
            {
                // select(test, *args), selectattr(attribute, test, *args); without a test an item's truth decides.
                if (kwargs.Count > 0) throw new JinjaRuntimeError($"{what} takes no keyword arguments in Aha's Jinja subset");
                bool byAttribute = name.EndsWith("attr", StringComparison.Ordinal), keep = name.StartsWith("select", StringComparison.Ordinal);
                int at = 0;
                string? attribute = byAttribute ? Text(args.ElementAtOrDefault(at++), $"{what}'s attribute") : null;
                string? test = args.Count > at ? Text(args[at++], $"{what}'s test name") : null;
                var testArgs = args.Skip(at).ToList();
                var kept = Py.Iterate(value).Where(item =>
                {
                    var subject = attribute is null ? item : Attribute(item, attribute);
                    bool passed = test is null ? Py.Truthy(subject) : Test(test, subject, testArgs);
                    return passed == keep;
                }).ToList();
                return new JinjaGenerator(kept);
            }
            case "map":
            {
                if (kwargs.Remove("attribute", out var attr))
                {
                    var fallback = kwargs.Remove("default", out var d) ? d : null;
                    if (kwargs.Count > 0 || args.Count > 0) throw new JinjaRuntimeError("map(attribute=...) takes only default= besides");
                    string attribute = Text(attr, "map's attribute");
                    return new JinjaGenerator(Py.Iterate(value).Select(item =>
                    {
                        var v = Attribute(item, attribute);
                        return v is JinjaUndefined && fallback is not null ? fallback : v;
                    }).ToList());
                }
                if (args.Count == 0) throw new JinjaRuntimeError("map needs a filter name or attribute=");
                string filter = Text(args[0], "map's filter name");
                if (!FilterNames.Contains(filter)) throw new JinjaRuntimeError($"the filter '{filter}' is not supported by Aha's Jinja subset");
                return new JinjaGenerator(Py.Iterate(value).Select(item => Filter(filter, item, args.Skip(1).ToList(), kwargs)).ToList());
            }
            default:
                throw new JinjaRuntimeError($"the filter '{name}' is not supported by Aha's Jinja subset");
        }
    }

    public static bool Test(string name, object? value, List<object?> args)
    {
        object? Arg()
        {
            if (args.Count != 1) throw new JinjaRuntimeError($"the test '{name}' takes one argument, got {args.Count}");
            return args[0];
        }
        void NoArgs()
        {
            if (args.Count != 0) throw new JinjaRuntimeError($"the test '{name}' takes no argument, got {args.Count}");
        }
        switch (name)
        {
            case "defined": NoArgs(); return value is not JinjaUndefined;
            case "undefined": NoArgs(); return value is JinjaUndefined;
            case "none": NoArgs(); return value is null;
            case "string": NoArgs(); return value is string;
            case "mapping": NoArgs(); return value is JinjaDict;
            case "iterable": NoArgs(); return value is string or List<object?> or JinjaDict or JinjaUndefined;
            case "sequence": NoArgs(); return value is string or List<object?> or JinjaDict or JinjaUndefined;
            case "number": NoArgs(); return value is long or double or bool;
            case "integer": NoArgs(); return value is long;
            case "float": NoArgs(); return value is double;
            case "boolean": NoArgs(); return value is bool;
            case "true": NoArgs(); return value is true;
            case "false": NoArgs(); return value is false;
            case "callable": NoArgs(); return value is JinjaCallable;
            case "lower": NoArgs(); return value is string l && l == l.ToLowerInvariant();
            case "upper": NoArgs(); return value is string u && u == u.ToUpperInvariant();
            case "odd" or "even":
                NoArgs();
                if (value is not (long or bool)) throw new JinjaRuntimeError($"the test '{name}' needs an integer, not {Py.TypeName(value)}");
                return (Py.AsLong(value) % 2 != 0) == (name == "odd");
            case "divisibleby":
                var by = Arg();
                if (value is not (long or bool) || by is not (long or bool) || Py.AsLong(by) == 0)
                    throw new JinjaRuntimeError("the test 'divisibleby' needs integers and a non-zero divisor");
                return Py.AsLong(value) % Py.AsLong(by) == 0;
            case "eq" or "equalto" or "==": return Py.Equal(value, Arg());
            case "ne" or "!=": return !Py.Equal(value, Arg());
            case "lt" or "<": return Py.Compare(value, Arg(), "<") < 0;
            case "le" or "<=": return Py.Compare(value, Arg(), "<=") <= 0;
            case "gt" or ">": return Py.Compare(value, Arg(), ">") > 0;
            case "ge" or ">=": return Py.Compare(value, Arg(), ">=") >= 0;
            case "in": return Py.Contains(Arg(), value);
            case "sameas":
                var other = Arg();
                return value is null || value is bool ? Py.Equal(value, other) && value?.GetType() == other?.GetType() : ReferenceEquals(value, other);
            default:
                throw new JinjaRuntimeError($"the test '{name}' is not supported by Aha's Jinja subset");
        }
    }

    static readonly HashSet<string> PythonStrMethods =
    [
        "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format", "format_map", "index",
        "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace",
        "istitle", "isupper", "join", "ljust", "lower", "lstrip", "maketrans", "partition", "removeprefix", "removesuffix", "replace",
        "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
        "title", "translate", "upper", "zfill",
    ];
    static readonly HashSet<string> PythonDictMethods = ["clear", "copy", "fromkeys", "get", "items", "keys", "pop", "popitem", "setdefault", "update", "values"];
    static readonly HashSet<string> PythonListMethods = ["append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove", "reverse", "sort"];

    /// <summary>
    /// The attribute <paramref name="name"/> of a string, dict or list as Python's getattr finds it: a bound method we implement,
    /// an error for a real method we do not, or null when Python has no such attribute (the caller then tries the item).
    /// </summary>
    public static JinjaCallable? Method(object? target, string name)
    {
        string what = $"{Py.TypeName(target)}.{name}()";
        Func<List<object?>, Dictionary<string, object?>, object?>? body = (target, name) switch
        {
            (string s, "strip" or "lstrip" or "rstrip") => (a, k) =>
            {
                var chars = new Bound(what, ["chars"], a, k).String(0, $"{name}'s chars");
                return name == "strip" ? PyString.Strip(s, chars) : name == "lstrip" ? PyString.LStrip(s, chars) : PyString.RStrip(s, chars);
            },
            (string s, "split") => (a, k) =>
            {
                var b = new Bound(what, ["sep", "maxsplit"], a, k);
                return PyString.Split(s, b.Get(0) is null or JinjaUndefined ? null : b.String(0, "split's sep"), b.Int(1, -1, "split's maxsplit"));
            },
            (string s, "startswith" or "endswith") => (a, k) =>
            {
                var b = new Bound(what, ["prefix"], a, k);
                var options = b.Get(0) is List<object?> list ? list.Select(x => Text(x, what)).ToList() : [Text(b.Get(0), what)];
                return options.Any(p => name == "startswith" ? s.StartsWith(p, StringComparison.Ordinal) : s.EndsWith(p, StringComparison.Ordinal));
            },
            (string s, "replace") => (a, k) =>
            {
                var b = new Bound(what, ["old", "new", "count"], a, k);
                return PyString.Replace(s, Text(b.Get(0), what), Text(b.Get(1), what), b.Int(2, -1, "replace's count"));
            },
            (string s, "upper") => (a, k) => { new Bound(what, [], a, k); return s.ToUpperInvariant(); },
            (string s, "lower") => (a, k) => { new Bound(what, [], a, k); return s.ToLowerInvariant(); },
            (string s, "title") => (a, k) => { new Bound(what, [], a, k); return PyString.Title(s); },
            (string s, "capitalize") => (a, k) => { new Bound(what, [], a, k); return PyString.Capitalize(s); },
            (string s, "join") => (a, k) => string.Join(s, Py.Iterate(new Bound(what, ["iterable"], a, k).Get(0)).Select(x => Text(x, what))),
            (JinjaDict d, "items") => (a, k) => { new Bound(what, [], a, k); return d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(); },
            (JinjaDict d, "keys") => (a, k) => { new Bound(what, [], a, k); return d.Keys.Select(x => (object?)x).ToList(); },
            (JinjaDict d, "values") => (a, k) => { new Bound(what, [], a, k); return d.Values.ToList(); },
            (JinjaDict d, "get") => (a, k) =>
            {
                var b = new Bound(what, ["key", "default"], a, k);
                return b.Get(0) is string key && d.TryGetValue(key, out var v) ? v : b.Get(1);
            },
            _ => null,
        };
        if (body is not null) return new JinjaCallable(what, body);
        bool real = target switch
        {
            string => PythonStrMethods.Contains(name),
            JinjaDict => PythonDictMethods.Contains(name),
            List<object?> => PythonListMethods.Contains(name),
            _ => false,
        };
        return real ? throw new JinjaRuntimeError($"the method {what} is not supported by Aha's Jinja subset") : null;
    }

    /// <summary>Globals every template sees: namespace, range, dict, and transformers' raise_exception and strftime_now.</summary>
    public static void AddGlobals(IDictionary<string, object?> globals, Func<DateTime> now)
    {
        globals["namespace"] = new JinjaCallable("namespace", (args, kwargs) =>
        {
            var ns = new JinjaNamespace();
            foreach (var arg in args)
            {
                if (arg is not JinjaDict initial) throw new JinjaRuntimeError("namespace() takes a dict or keyword arguments");
                foreach (var (k, v) in initial) ns.Attributes[k] = v;
            }
            foreach (var (k, v) in kwargs) ns.Attributes[k] = v;
            return ns;
        });
        globals["dict"] = new JinjaCallable("dict", (args, kwargs) =>
        {
            if (args.Count > 0) throw new JinjaRuntimeError("dict() with positional arguments is not supported by Aha's Jinja subset");
            var d = new JinjaDict();
            foreach (var (k, v) in kwargs) d[k] = v;
            return d;
        });
        globals["range"] = new JinjaCallable("range", (args, kwargs) =>
        {
            if (kwargs.Count > 0 || args.Count is < 1 or > 3 || args.Any(a => a is not (long or bool)))
                throw new JinjaRuntimeError("range() takes one to three integers");
            long[] n = [.. args.Select(Py.AsLong)];
            var (start, stop, step) = n.Length == 1 ? (0, n[0], 1) : (n[0], n[1], n.Length == 3 ? n[2] : 1);
            if (step == 0) throw new JinjaRuntimeError("range() arg 3 must not be zero");
            var list = new List<object?>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step)
            {
                list.Add(i);
                if (list.Count > 100_000) throw new JinjaRuntimeError("range() too big (the sandbox allows 100000 items)");
            }
            return list;
        });
        globals["raise_exception"] = new JinjaCallable("raise_exception", (args, kwargs) =>
        {
            var message = Py.Str(new Bound("raise_exception()", ["message"], args, kwargs).Get(0));
            throw new JinjaRuntimeError($"the chat template raised an error: {message}", message);
        });
        globals["strftime_now"] = new JinjaCallable("strftime_now", (args, kwargs) =>
            Strftime(now(), Text(new Bound("strftime_now()", ["format"], args, kwargs).Get(0), "strftime_now()")));
    }

    /// <summary>Python's datetime.strftime for the directives chat templates use (C locale).</summary>
    public static string Strftime(DateTime t, string format)
    {
        var sb = new System.Text.StringBuilder();
        var c = CultureInfo.InvariantCulture;
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length) { sb.Append(format[i]); continue; }
            char d = format[++i];
            sb.Append(d switch
            {
                'd' => t.Day.ToString("00", c),
                'm' => t.Month.ToString("00", c),
                'y' => (t.Year % 100).ToString("00", c),
                'Y' => t.Year.ToString(c),
                'b' => t.ToString("MMM", c),
                'B' => t.ToString("MMMM", c),
                'a' => t.ToString("ddd", c),
                'A' => t.ToString("dddd", c),
                'H' => t.Hour.ToString("00", c),
                'I' => ((t.Hour + 11) % 12 + 1).ToString("00", c),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'M' => t.Minute.ToString("00", c),
                'S' => t.Second.ToString("00", c),
                'j' => t.DayOfYear.ToString("000", c),
                '%' => "%",
                _ => throw new JinjaRuntimeError($"strftime directive '%{d}' is not supported by Aha's Jinja subset"),
            });
        }
        return sb.ToString();
    }
}
