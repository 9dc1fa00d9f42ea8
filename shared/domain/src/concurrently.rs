//! Independent calls made at once: a page of the team's queue reads every
//! partition of it in one round trip rather than one after another. The
//! futures borrow the use case's ports, so they run on the calling task
//! (no spawn) and wait on the network together.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Polls every future on this task until all are ready; their outputs, in
/// the order given.
pub async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut running: Vec<Option<Pin<Box<F>>>> = futures.into_iter().map(|future| Some(Box::pin(future))).collect();
    let mut outputs: Vec<Option<F::Output>> = running.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut waiting = false;
        for (slot, output) in running.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(context) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    // Every slot is filled once the poll above is ready.
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::join_all;

    #[tokio::test]
    async fn the_futures_wait_together_and_give_their_outputs_in_order() {
        // Each waits for all three to be waiting: one after another, the
        // first would wait for ever.
        let together = tokio::sync::Barrier::new(3);
        let outputs = join_all((1..=3).map(|n| {
            let together = &together;
            async move {
                together.wait().await;
                n * 10
            }
        }));
        let outputs = tokio::time::timeout(std::time::Duration::from_secs(10), outputs)
            .await
            .expect("all three waited together");
        assert_eq!(outputs, [10, 20, 30]);
    }
}
