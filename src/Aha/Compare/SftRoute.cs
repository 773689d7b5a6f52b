using Aha.Data;
using Aha.Eval;
using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using Aha.Training;

namespace Aha.Compare;

/// <summary>
/// SFT on worked solutions, the distillation baseline: next-token loss on correct worked completions (written by a program,
/// the stand-in for a stronger teacher) of training problems in the same prompt template, no labels, no reward.
/// </summary>
public sealed class SftRoute : ICompareRoute
{
    public string Name => "sft";
    public string Description => "SFT on worked solutions (distillation baseline)";

    public RouteOutcome Run(RouteContext context)
    {
        var o = context.Options;
        var (policy, tokenizer) = context.LoadBase();
        var items = ModelEvaluator.Problems(context.Task, o.Demonstrations, TaskSplit.Train, context.Seed);
        var rows = items.Select(item => ChatBatchSource.Encode(tokenizer, context.Task, item, Solution(context.Task, item), PromptStyle.Short));
        var options = o.Sft with { Seed = context.Seed };
        var source = new ChatBatchSource(rows, tokenizer.PadId, options.BatchSize, options.SequenceLength, context.Seed);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.Cancel);
        long steps = 0;
        var trainer = new LanguageModelTrainer(policy, tokenizer, options, source)
        {
            Log = _ => { },
            // The budget ends the run through cancellation; the loop's "interrupted" note is not news here.
            Warn = line => { if (!stop.IsCancellationRequested) context.Log(line); },
            OnStep = report =>
            {
                steps = report.Step;
                if (context.Account(policy, tokenizer, report.Flops)) stop.Cancel();
                if (report.Step % 50 == 0 || stop.IsCancellationRequested)
                    context.Log($"{Name} seed {context.Seed} | budget {context.Spent / context.Budget:P0} | step {report.Step} | loss {report.Loss:F4}");
            },
        };
        var result = trainer.Run(cancel: stop.Token);
        context.Cancel.ThrowIfCancellationRequested();
        if (result.Outcome == TrainingOutcome.Diverged) throw new InvalidOperationException("compare: SFT diverged (non-finite steps); lower its learning rate.");
        return new RouteOutcome(policy) { Steps = steps, Demonstrations = (int)Math.Min(items.Count, steps * options.BatchSize) };
    }

    /// <summary>The worked completion of a problem: the demo corpus's column addition for two-number addition, else the task's own solution.</summary>
    static string Solution(ITask task, TaskItem item)
    {
        if (task is ArithmeticTask { Options: { Operations: "+", MaxOperands: 2 } }) return ReasoningCorpus.CleanSolution(item);
        if (item.Solution is { } solution) return $" <think>{solution}</think> <answer>{item.Answer}</answer>";
        throw new ArgumentException($"compare: the sft route needs worked solutions, and task '{task.Name}' has none for problem {item.Id}; leave sft out of --routes.");
    }
}
