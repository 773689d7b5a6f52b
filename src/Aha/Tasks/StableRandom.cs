namespace Aha.Tasks;

/// <summary>
/// SplitMix64: a tiny generator whose output is fixed by its seed forever, so problem (seed, index) is the same text
/// on every machine and .NET version. <see cref="System.Random"/> makes no such promise across versions.
/// </summary>
public sealed class StableRandom(ulong seed)
{
    ulong _state = seed;

    /// <summary>A generator for item <paramref name="index"/> of stream <paramref name="seed"/>, independent of every other item.</summary>
    public static StableRandom For(long seed, long index) => new(Mix(unchecked((ulong)seed * 1_000_003UL + (ulong)index)));

    public ulong NextULong()
    {
        _state = unchecked(_state + 0x9E3779B97F4A7C15UL);
        return Mix(_state);
    }

    /// <summary>Uniform in [min, max] inclusive.</summary>
    public int Next(int min, int max)
    {
        if (max < min) throw new ArgumentOutOfRangeException(nameof(max), $"max {max} is below min {min}.");
        var range = (ulong)((long)max - min + 1);
        return (int)(min + (long)(NextULong() % range)); // modulo bias is below 1e-9 for ranges this small
    }

    /// <summary>Uniform in [0, 1): the top 53 bits of the next value.</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Fisher–Yates in place, from the last element down: the one shuffle every seeded order (epochs, pair order) uses.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Next(0, i);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(0, items.Count - 1)];

    public static ulong Mix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
