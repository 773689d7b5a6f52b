using System.Text;

namespace Aha.Data;

/// <summary>
/// Splits documents into train and validation by a hash of their content, so the split is the same in every
/// process and for any source order, works on infinite sources, and a duplicated document never lands on both sides.
/// </summary>
public static class TrainValidationSplit
{
    /// <summary>Whether <paramref name="document"/> belongs to the validation share <paramref name="fraction"/> (0..1) under <paramref name="seed"/>.</summary>
    public static bool IsValidation(string document, double fraction, long seed = 0)
    {
        if (fraction is < 0 or > 1 || double.IsNaN(fraction))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the validation fraction must be between 0 and 1.");
        ulong hash = 14695981039346656037UL; // FNV-1a over the UTF-8 bytes, then mixed with the seed
        foreach (byte b in Encoding.UTF8.GetBytes(document)) hash = (hash ^ b) * 1099511628211UL;
        ulong state = hash ^ unchecked((ulong)seed);
        return Mix.Unit(Mix.Next(ref state)) < fraction;
    }

    /// <summary>The documents not in validation.</summary>
    public static IEnumerable<string> Train(IEnumerable<string> documents, double fraction, long seed = 0) =>
        documents.Where(d => !IsValidation(d, fraction, seed));

    /// <summary>The validation documents.</summary>
    public static IEnumerable<string> Validation(IEnumerable<string> documents, double fraction, long seed = 0) =>
        documents.Where(d => IsValidation(d, fraction, seed));
}
