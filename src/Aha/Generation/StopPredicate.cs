namespace Aha.Generation;

/// <summary>
/// Asked after each new token of a still-running row: return true to stop it. <paramref name="generatedIds"/> holds the
/// row's generated ids so far (prompt excluded), so a tokenizer-aware caller can decode the tail and look for stop strings.
/// </summary>
public delegate bool StopPredicate(int row, IReadOnlyList<int> generatedIds);
