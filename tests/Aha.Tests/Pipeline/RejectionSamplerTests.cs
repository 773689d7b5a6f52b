using Aha.Pipeline;
using Aha.Tasks;

namespace Aha.Tests.Pipeline;

public class RejectionSamplerTests
{
    const string Prompt = "User: What is 47+38?\nAssistant:";
    static readonly TaskItem Item = new("p1", "What is 47+38?", "85");
    static readonly TaskItem Other = new("p2", "What is 10+11?", "21");
    const string Good = " <think>Units: 7+8=15, write 5, carry 1. Tens: 4+3+1=8, write 8. So 47+38=85.</think> <answer>85</answer>";
    const string Good2 = " <think>7+8=15, 4+3+1=8, so 85</think> <answer>85</answer>";

    [Theory]
    [InlineData(" <think>so 84</think> <answer>84</answer>", 20, false, RejectionSampler.Wrong)]
    [InlineData(" <answer>85</answer>", 10, false, RejectionSampler.BadFormat)]            // right but without reasoning
    [InlineData(" <think>so 85</think> <answer>85</answer> more", 20, false, RejectionSampler.BadFormat)]
    [InlineData(Good, 200, false, ReadabilityFilter.TooLong)]
    [InlineData(" <think>так 85</think> <answer>85</answer>", 20, false, ReadabilityFilter.MixedScript)]
    [InlineData(" <think>8+8=16, 8+8=16, 8+8=16, 8+8=16</think> <answer>85</answer>", 40, false, ReadabilityFilter.Repetition)]
    [InlineData(Good, 90, false, null)]
    public void A_sample_is_counted_under_the_first_filter_that_rejects_it(string completion, int tokens, bool truncated, string? filter)
    {
        var (kept, tally) = RejectionSampler.Filter([(Item, Prompt, completion, tokens, truncated)], TaskRegistry.Addition(), Options());
        Assert.Equal(filter is null ? 1 : 0, kept.Count);
        foreach (var name in RejectionSampler.Filters) Assert.Equal(name == filter ? 1 : 0, tally.Rejected[name]);
    }

    [Fact]
    public void Duplicates_and_samples_past_the_quota_are_dropped_per_prompt_and_every_sample_is_counted_once()
    {
        var samples = new[]
        {
            (Item, Prompt, Good, 90, false), (Item, Prompt, Good, 90, false), (Item, Prompt, Good2, 40, false),
            (Item, Prompt, " <think>so 85 ok</think> <answer>85</answer>", 20, false), (Item, Prompt, " <answer>84</answer>", 9, false),
            (Other, "User: What is 10+11?\nAssistant:", " <think>so 21</think> <answer>21</answer>", 20, false),
        };
        var (kept, tally) = RejectionSampler.Filter(samples, TaskRegistry.Addition(), Options() with { KeepPerPrompt = 2 });

        Assert.Equal([Good, Good2, " <think>so 21</think> <answer>21</answer>"], kept.Select(k => k.Completion));
        Assert.Equal(1, tally.Rejected[RejectionSampler.Duplicate]);
        Assert.Equal(1, tally.Rejected[RejectionSampler.OverQuota]);
        Assert.Equal(1, tally.Rejected[RejectionSampler.Wrong]);
        Assert.Equal(6, tally.Sampled);
        Assert.Equal(tally.Sampled, tally.Kept + tally.Rejected.Values.Sum());
        Assert.Equal(2, tally.PromptsWithAKeep);
    }

    static RejectionOptions Options() => new() { Readability = new ReadabilityFilter(MaxTokens: 100), KeepPerPrompt = 4 };
}
