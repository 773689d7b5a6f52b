using System.Numerics;

namespace Aha.Tasks.Answers;

/// <summary>
/// An exact fraction with an arbitrary-size numerator, always in lowest terms with a positive denominator,
/// so that equal values compare equal and print the same (<c>0.75</c>, <c>3/4</c> and <c>\frac{6}{8}</c> are one value).
/// </summary>
public readonly struct Rational : IEquatable<Rational>, IComparable<Rational>
{
    readonly BigInteger _numerator;
    readonly BigInteger _denominator; // zero only in default(Rational), which reads as 0/1

    public BigInteger Numerator => _numerator;
    public BigInteger Denominator => _denominator.IsZero ? BigInteger.One : _denominator;
    public bool IsInteger => Denominator.IsOne;

    public Rational(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException("A rational number cannot have a zero denominator.");
        if (denominator.Sign < 0) (numerator, denominator) = (-numerator, -denominator);
        var gcd = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!gcd.IsOne && !gcd.IsZero) (numerator, denominator) = (numerator / gcd, denominator / gcd);
        _numerator = numerator;
        _denominator = denominator;
    }

    public static Rational Zero => new(BigInteger.Zero, BigInteger.One);
    public static implicit operator Rational(long value) => new(value, BigInteger.One);

    public static Rational operator +(Rational a, Rational b) =>
        new(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static Rational operator -(Rational a, Rational b) =>
        new(a.Numerator * b.Denominator - b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static Rational operator *(Rational a, Rational b) =>
        new(a.Numerator * b.Numerator, a.Denominator * b.Denominator);
    public static Rational operator -(Rational a) => new(-a.Numerator, a.Denominator);

    /// <summary>Division that reports a zero divisor instead of throwing: a model's <c>5/0</c> is a wrong answer, not a crash.</summary>
    public static bool TryDivide(Rational a, Rational b, out Rational quotient)
    {
        quotient = Zero;
        if (b.Numerator.IsZero) return false;
        quotient = new Rational(a.Numerator * b.Denominator, a.Denominator * b.Numerator);
        return true;
    }

    public bool Equals(Rational other) => Numerator == other.Numerator && Denominator == other.Denominator;
    public override bool Equals(object? obj) => obj is Rational other && Equals(other);
    public override int GetHashCode() => HashCode.Combine(Numerator, Denominator);
    public int CompareTo(Rational other) => (Numerator * other.Denominator).CompareTo(other.Numerator * Denominator);
    public static bool operator ==(Rational a, Rational b) => a.Equals(b);
    public static bool operator !=(Rational a, Rational b) => !a.Equals(b);

    /// <summary><c>-5</c> or <c>3/4</c>: the canonical spelling, also used as the vote key for maj@k.</summary>
    public override string ToString() => IsInteger ? Numerator.ToString() : $"{Numerator}/{Denominator}";
}
