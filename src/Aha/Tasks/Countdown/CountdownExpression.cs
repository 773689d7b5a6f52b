using System.Numerics;
using Aha.Tasks.Answers;

namespace Aha.Tasks.Countdown;

/// <summary>
/// Parses and evaluates a Countdown answer without executing anything: integers, binary <c>+ - * /</c> (also
/// <c>− × ÷ ·</c>), parentheses, and optionally a trailing <c>= N</c>. Unary minus, decimals and anything else are
/// rejected. Arithmetic is exact over rationals; division by zero, nesting deeper than 64 or more than 1,000
/// characters make the answer wrong with a reason, never an exception.
/// </summary>
static class CountdownExpression
{
    const int MaxDepth = 64;
    const int MaxLength = 1000;

    public sealed record Result(Rational Value, List<BigInteger> Numbers, BigInteger? Claimed);

    public static bool TryEvaluate(string text, out Result? result, out string? error)
    {
        result = null;
        error = null;
        if (text.Length > MaxLength) { error = $"expression longer than {MaxLength} characters"; return false; }
        var parser = new Parser(text);
        return parser.Run(out result, out error);
    }

    sealed class Parser(string text)
    {
        int _at;
        readonly List<BigInteger> _numbers = [];

        public bool Run(out Result? result, out string? error)
        {
            result = null;
            if (!Expression(0, out var value, out error)) return false;
            BigInteger? claimed = null;
            SkipSpace();
            if (_at < text.Length && text[_at] == '=')
            {
                _at++;
                SkipSpace();
                if (!Integer(out var rhs)) { error = "'=' must be followed by a number"; return false; }
                claimed = rhs;
                SkipSpace();
            }
            if (_at < text.Length) { error = $"unexpected '{text[_at]}' at position {_at}"; return false; }
            result = new Result(value, _numbers, claimed);
            return true;
        }

        bool Expression(int depth, out Rational value, out string? error)
        {
            if (!Term(depth, out value, out error)) return false;
            while (true)
            {
                SkipSpace();
                if (_at >= text.Length || text[_at] is not ('+' or '-' or '−')) return true;
                var minus = text[_at++] != '+';
                if (!Term(depth, out var right, out error)) return false;
                value = minus ? value - right : value + right;
            }
        }

        bool Term(int depth, out Rational value, out string? error)
        {
            if (!Factor(depth, out value, out error)) return false;
            while (true)
            {
                SkipSpace();
                if (_at >= text.Length || text[_at] is not ('*' or '/' or '×' or '÷' or '·')) return true;
                var divide = text[_at] is '/' or '÷';
                _at++;
                if (!Factor(depth, out var right, out error)) return false;
                if (!divide) value *= right;
                else if (!Rational.TryDivide(value, right, out value)) { error = "division by zero"; return false; }
            }
        }

        bool Factor(int depth, out Rational value, out string? error)
        {
            value = Rational.Zero;
            error = null;
            SkipSpace();
            if (_at >= text.Length) { error = "expression ends where a number was expected"; return false; }
            if (text[_at] == '(')
            {
                if (depth >= MaxDepth) { error = $"parentheses nested deeper than {MaxDepth}"; return false; }
                _at++;
                if (!Expression(depth + 1, out value, out error)) return false;
                SkipSpace();
                if (_at >= text.Length || text[_at] != ')') { error = "missing ')'"; return false; }
                _at++;
                return true;
            }
            if (!Integer(out var number)) { error = $"expected a number at position {_at}"; return false; }
            _numbers.Add(number);
            value = new Rational(number, BigInteger.One);
            return true;
        }

        bool Integer(out BigInteger number)
        {
            number = BigInteger.Zero;
            var start = _at;
            while (_at < text.Length && char.IsAsciiDigit(text[_at])) _at++;
            if (_at == start || _at - start > 30) return false; // 30 digits: no puzzle number is that long
            number = BigInteger.Parse(text.AsSpan(start, _at - start), provider: System.Globalization.CultureInfo.InvariantCulture);
            return true;
        }

        void SkipSpace()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at])) _at++;
        }
    }
}
