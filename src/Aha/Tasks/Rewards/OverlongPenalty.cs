namespace Aha.Tasks.Rewards;

/// <summary>
/// DAPO's soft overlong punishment, in tokens: 0 up to <c>MaxLength − CacheLength</c>, then falling linearly to −1
/// at <c>MaxLength</c>, −1 beyond. It tells the model it is getting long before truncation cuts it off.
/// </summary>
public sealed class OverlongPenalty : IRewardFunction
{
    public OverlongPenalty(int maxLength, int cacheLength)
    {
        if (maxLength <= 0) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "max length must be positive.");
        if (cacheLength <= 0 || cacheLength > maxLength)
            throw new ArgumentOutOfRangeException(nameof(cacheLength), cacheLength, $"cache length must be in [1, max length {maxLength}].");
        MaxLength = maxLength;
        CacheLength = cacheLength;
    }

    public int MaxLength { get; }
    public int CacheLength { get; }

    public string Name => "overlong";

    public float[] Score(IReadOnlyList<Completion> batch) => batch.Select(c => Penalty(c.TokenCount)).ToArray();

    public float Penalty(int tokens)
    {
        var free = MaxLength - CacheLength;
        if (tokens <= free) return 0f;
        if (tokens > MaxLength) return -1f;
        return (float)(free - tokens) / CacheLength;
    }
}
