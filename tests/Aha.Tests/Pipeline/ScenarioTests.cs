using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Rewards;

namespace Aha.Tests.Pipeline;

public class ScenarioTests
{
    [Theory]
    [InlineData(" <answer>47</answer>", true)]
    [InlineData(" <answer>38</answer>", false)]
    [InlineData(" <think>47 > 38</think> <answer>47</answer>", false)] // right, but thought about a plain question
    [InlineData(" 47", false)]                                          // outside the answer tag
    public void A_general_answer_is_right_only_when_plain_and_larger(string completion, bool correct) =>
        Assert.Equal(correct, new LargerTask().Verify(completion, new TaskItem("x", "Which is larger, 47 or 38?", "47")).Correct);

    [Fact]
    public void General_prompts_are_deterministic_distinct_numbers_split_apart()
    {
        var task = new LargerTask();
        var train = task.Items(TaskSplit.Train, 5).Take(200).ToList();
        var test = task.Items(TaskSplit.Test, 5).Take(20).ToList();
        Assert.Equal(train.Select(i => i.Prompt), task.Items(TaskSplit.Train, 5).Take(200).Select(i => i.Prompt));
        Assert.Empty(train.Select(i => i.Prompt).Intersect(test.Select(i => i.Prompt)));
        Assert.All(train, i => Assert.Null(task.CheckGold(i.Answer)));
        Assert.All(train, i => Assert.Contains(i.Answer, i.Prompt));
    }

    [Fact]
    public void The_mix_puts_every_nth_problem_in_the_general_scenario_and_verifies_each_by_its_own_task()
    {
        var mixed = new ScenarioTask(TaskRegistry.Addition(), new LargerTask(), generalEvery: 3);
        var items = mixed.Items(TaskSplit.Train, 1).Take(9).ToList();
        Assert.Equal([false, false, true, false, false, true, false, false, true], items.Select(ScenarioTask.IsGeneral));
        var general = items[2];
        Assert.True(mixed.Verify($" <answer>{general.Answer}</answer>", general).Correct);
        Assert.False(mixed.Verify($" <think>x</think> <answer>{general.Answer}</answer>", general).Correct);
        Assert.True(mixed.Verify($" <think>x</think> <answer>{items[0].Answer}</answer>", items[0]).Correct);
    }

    [Fact]
    public void A_scenario_reward_scores_its_own_prompts_and_gives_the_others_zero()
    {
        var seen = new List<string>();
        var inner = new DelegateReward("rm", c => { seen.Add(c.Text); return c.Text.Length; });
        var reward = new ScenarioReward(inner, ScenarioTask.IsGeneral);
        var batch = new[]
        {
            new Completion("p", "aa", new TaskItem("reasoning:1", "q", "1")), new Completion("p", "bbb", new TaskItem("general:1", "q", "1")),
            new Completion("p", "c", new TaskItem("reasoning:2", "q", "1")), new Completion("p", "dddd", new TaskItem("general:2", "q", "1")),
        };
        Assert.Equal([0f, 3f, 0f, 4f], reward.Score(batch));
        Assert.Equal(["bbb", "dddd"], seen); // the inner reward never sees the other scenario
        Assert.Equal("rm", reward.Name);
    }
}
