namespace Aha.Data;

/// <summary>
/// SplitMix64: a tiny random generator whose numbers are the same in every process, .NET version and language
/// (unlike HashCode, randomised per process, or System.Random, whose algorithm is not part of its contract).
/// </summary>
static class Mix
{
    public static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, n) (the modulo bias is below 2^-40 for the n used here).</summary>
    public static int Below(ref ulong state, int n) => (int)(Next(ref state) % (ulong)n);

    /// <summary>Uniform double in [0, 1) from the top 53 bits of a hash.</summary>
    public static double Unit(ulong hash) => (hash >> 11) * (1.0 / (1UL << 53));
}
