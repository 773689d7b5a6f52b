namespace Aha.Tokenizer.Jinja;

/// <summary>Python's binary arithmetic (+ - * / // % **) on ints, floats, bools, strings and lists; other mixes are a TypeError.</summary>
static class JinjaArithmetic
{
    public static object? Apply(string op, object? a, object? b)
    {
        if (a is JinjaUndefined ua) throw new JinjaRuntimeError(ua.Description);
        if (b is JinjaUndefined ub) throw new JinjaRuntimeError(ub.Description);
        switch (op, a, b)
        {
            case ("+", string x, string y): return x + y;
            case ("+", List<object?> x, List<object?> y): return x.Concat(y).ToList();
            case ("*", string x, long or bool): return Repeat(x, Py.AsLong(b));
            case ("*", long or bool, string y): return Repeat(y, Py.AsLong(a));
            case ("*", List<object?> x, long or bool): return Enumerable.Repeat(x, (int)Math.Max(0, Py.AsLong(b))).SelectMany(l => l).ToList();
        }
        if (a is not (long or double or bool) || b is not (long or double or bool))
            throw new JinjaRuntimeError($"unsupported operand type(s) for {op}: '{Py.TypeName(a)}' and '{Py.TypeName(b)}'");
        if (a is double || b is double || op == "/")
        {
            double x = ToDouble(a), y = ToDouble(b);
            if (y == 0 && op is "/" or "//" or "%") throw new JinjaRuntimeError("division by zero");
            return op switch
            {
                "+" => x + y,
                "-" => x - y,
                "*" => x * y,
                "/" => x / y,
                "//" => Math.Floor(x / y),
                "%" => x - y * Math.Floor(x / y),
                "**" => Math.Pow(x, y),
                _ => throw new JinjaRuntimeError($"unknown operator {op}"),
            };
        }
        long m = Py.AsLong(a), n = Py.AsLong(b);
        try
        {
            return op switch
            {
                "+" => checked(m + n),
                "-" => checked(m - n),
                "*" => checked(m * n),
                "//" => n == 0 ? throw new JinjaRuntimeError("integer division or modulo by zero") : FloorDiv(m, n),
                "%" => n == 0 ? throw new JinjaRuntimeError("integer division or modulo by zero") : m - n * FloorDiv(m, n),
                "**" => n < 0 ? Math.Pow(m, n) : IntPow(m, n),
                _ => throw new JinjaRuntimeError($"unknown operator {op}"),
            };
        }
        catch (OverflowException)
        {
            throw new JinjaRuntimeError($"integer overflow in {m} {op} {n} (Aha's Jinja keeps integers in 64 bits)");
        }
    }

    static double ToDouble(object? v) => v switch { long n => n, double d => d, bool b => b ? 1 : 0, _ => double.NaN };

    static long FloorDiv(long m, long n)
    {
        long q = m / n;
        return (m % n != 0) && ((m < 0) != (n < 0)) ? q - 1 : q;
    }

    static object IntPow(long m, long n)
    {
        long result = 1;
        for (long i = 0; i < n; i++) result = checked(result * m);
        return result;
    }

    static string Repeat(string s, long count) => count <= 0 ? "" : string.Concat(Enumerable.Repeat(s, (int)count));
}
