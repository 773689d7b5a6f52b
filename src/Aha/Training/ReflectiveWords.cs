using System.Text.RegularExpressions;

namespace Aha.Training;

/// <summary>Counts the words R1-Zero's "aha moment" was seen in: wait, check, verify, again.</summary>
public static partial class ReflectiveWords
{
    public static int Count(string text) => Pattern().Count(text);

    [GeneratedRegex(@"\b(wait|check|verify|again)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
