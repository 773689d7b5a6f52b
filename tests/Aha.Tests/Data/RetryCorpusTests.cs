using Aha.Data;
using Aha.Eval;
using Aha.Tasks;
using Aha.Tasks.Countdown;

namespace Aha.Tests.Data;

public class RetryCorpusTests
{
    static readonly SignsTask Task = new();

    static IEnumerable<(TaskItem Item, string Completion)> Completions(RetryCorpusOptions options, int n)
    {
        var corpus = new RetryCorpus(Task, options);
        return Task.Items(TaskSplit.Train, 5).Take(n).Select((item, i) => (item, corpus.Completion(item, StableRandom.For(99, i))));
    }

    [Fact]
    public void Retry_traces_without_give_ups_or_slips_always_end_right_and_check_every_rejected_pattern_honestly()
    {
        var options = new RetryCorpusOptions { RetryShare = 1, CleanShare = 0, GiveUpRate = 0, SlipRate = 0, MaxTries = 8 };
        var tried = 0;
        foreach (var (item, completion) in Completions(options, 500))
        {
            Assert.True(Task.Verify(completion, item).Correct, completion);
            Assert.StartsWith(" <think>", completion);
            var puzzle = CountdownPuzzle.TryParse(item.Answer, out var p) ? p : throw new InvalidOperationException();
            // Each step "E=V, not T" is hand-checkable: V is E's value and differs from the target.
            var think = completion[(completion.IndexOf("<think>") + 7)..completion.IndexOf("</think>")];
            foreach (var step in think.Split(". "))
            {
                // "3+7=10-5=5+2=7, not 13": each "a±b=c" link is one-digit arithmetic, checked here by hand rules.
                var body = (step.StartsWith("wait, ") ? step[6..] : step).Split(',')[0];
                var segments = body.Split('=');   // "3+7", "10-5", "5+2", "7"
                Assert.Equal(puzzle.Numbers.Count, segments.Length);
                var at = 0;
                for (var i = 0; i + 1 < segments.Length; i++)
                {
                    var link = System.Text.RegularExpressions.Regex.Match(segments[i], @"^(-?\d+)([+-])(\d+)$");
                    Assert.True(link.Success, body);
                    var (a, b) = (int.Parse(link.Groups[1].Value), int.Parse(link.Groups[3].Value));
                    at = int.Parse(System.Text.RegularExpressions.Regex.Match(segments[i + 1], @"^-?\d+").Value);
                    Assert.Equal(link.Groups[2].Value == "+" ? a + b : a - b, at);
                }
                if (step.Contains(", not ")) Assert.NotEqual(puzzle.Target, at);
                else Assert.Equal(puzzle.Target, at);
                tried++;
            }
        }
        Assert.True(tried > 500 * 2, $"only {tried} patterns tried in 500 traces: the search is not shown");
    }

    [Fact]
    public void Bare_guesses_are_answers_without_reasoning_and_usually_wrong()
    {
        var rows = Completions(new RetryCorpusOptions { RetryShare = 0, CleanShare = 0 }, 2_000).ToList();
        Assert.All(rows, r => Assert.Matches(@"^ <answer>\d[\d+-]*</answer>$", r.Completion));
        Assert.InRange(rows.Average(r => Task.Verify(r.Completion, r.Item).Correct ? 1.0 : 0.0), 0.1, 0.35);
    }

    [Fact]
    public void Clean_solutions_are_right_at_once()
    {
        foreach (var (item, completion) in Completions(new RetryCorpusOptions { RetryShare = 0, CleanShare = 1 }, 300))
        {
            Assert.True(Task.Verify(completion, item).Correct, completion);
            var trace = TraceReflection.Parse(completion);
            Assert.Equal((1, 0, 0), (trace.Candidates, trace.Backtracks, trace.WrongValues));
        }
    }

    [Fact]
    public void The_default_mix_has_the_shares_it_says_and_some_retry_traces_end_wrong()
    {
        var rows = Completions(new RetryCorpusOptions(), 4_000).ToList();
        var bare = rows.Count(r => !r.Completion.Contains("<think>")) / (double)rows.Count;
        Assert.InRange(bare, 0.57, 0.63); // 1 - 0.2 - 0.2
        var retried = rows.Where(r => TraceReflection.Parse(r.Completion).Reflected).ToList();
        Assert.InRange(retried.Count / (double)rows.Count, 0.08, 0.2); // retry traces whose first try missed
        Assert.Contains(retried, r => !Task.Verify(r.Completion, r.Item).Correct);
        Assert.Contains(retried, r => r.Completion.Contains("wait, "));
        Assert.Contains(retried, r => System.Text.RegularExpressions.Regex.IsMatch(r.Completion, @"not \d+\. \d")); // some retry without "wait"
    }

    [Fact]
    public void Documents_are_prompt_then_completion_from_train_puzzles_only()
    {
        var test = Task.Items(TaskSplit.Test, 42).Take(300).Select(i => i.Prompt).ToHashSet();
        foreach (var doc in new RetryCorpus(Task).Documents(42).Take(500))
        {
            Assert.StartsWith("User: Put + or - between ", doc);
            var prompt = doc["User: ".Length..doc.IndexOf('\n')];
            Assert.DoesNotContain(prompt, test);
            Assert.Contains("\nAssistant: <", doc);
        }
    }

    [Theory]
    [InlineData(0.6, 0.5, "retry_share")]
    [InlineData(-0.1, 0, "retry_share")]
    [InlineData(0.2, 1.2, "clean_share")]
    public void Bad_shares_are_refused_with_the_field_named(double retry, double clean, string field) =>
        Assert.Contains(field, Assert.Throws<ArgumentException>(() => new RetryCorpusOptions { RetryShare = retry, CleanShare = clean }.Validate()).Message);
}
