namespace Aha.Data;

/// <summary>
/// A (B, T+1) block of token ids, row-major: inputs are columns 0..T-1, targets 1..T. Rows continue one another
/// (each starts with the previous row's last token), so every token of the stream is a target exactly once.
/// <paramref name="Next"/> is where the stream continues after this batch: save it to resume.
/// </summary>
public sealed record TokenBatch(long[] Tokens, int BatchSize, int Width, PackingPosition Next)
{
    /// <summary>Row <paramref name="b"/>, T+1 ids.</summary>
    public ReadOnlySpan<long> Row(int b) => Tokens.AsSpan(b * Width, Width);
}
