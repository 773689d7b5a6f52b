namespace Aha.Data;

/// <summary>
/// Where a <see cref="PackedTokenStream"/> resumes: the next token is number <paramref name="Token"/> (0 = its
/// <c>&lt;|bos|&gt;</c>) of document <paramref name="Document"/> in epoch <paramref name="Epoch"/>'s shuffled order.
/// Small and JSON-friendly, to store in trainer_state.json.
/// </summary>
public sealed record PackingPosition(long Epoch, long Document, int Token)
{
    /// <summary>The beginning of the stream.</summary>
    public static PackingPosition Start { get; } = new(0, 0, 0);
}
