using System.Text;

namespace Aha.Tasks;

/// <summary>
/// FNV-1a over UTF-8 bytes: the same value in every process and .NET version, unlike <c>string.GetHashCode</c>,
/// which is randomised per process and would reshuffle train/held-out splits on every run.
/// </summary>
public static class StableHash
{
    public static ulong Fnv1a64(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }
        // FNV's low bits mix poorly for short inputs; one SplitMix64 finaliser round spreads them before "% 100".
        return StableRandom.Mix(hash);
    }
}
