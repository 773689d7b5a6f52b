using System.Text;
using Aha.Generation;

namespace Aha.Tokenizer;

/// <summary>Stops a generated row once its text ends with any of the given strings (checked on the bytes, no decoding).</summary>
public static class StopStrings
{
    public static StopPredicate Predicate(params string[] stops)
    {
        var patterns = stops.Where(s => s.Length > 0).Select(Encoding.UTF8.GetBytes).ToArray();
        return (_, ids) =>
        {
            foreach (var pattern in patterns)
            {
                if (ids.Count < pattern.Length) continue;
                bool match = true;
                for (int i = 0; i < pattern.Length && match; i++)
                    match = ids[ids.Count - pattern.Length + i] == pattern[i];
                if (match) return true;
            }
            return false;
        };
    }
}
