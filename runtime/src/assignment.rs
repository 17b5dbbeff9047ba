//! Kafka's `ConnectorUtils.groupPartitions` (kafka-connect-runtime.md §10): contiguous groups in
//! input order, the first `n mod k` one element larger. Not round-robin.

/// Splits `elements` into `num_groups` contiguous groups. Groups are empty when there are more
/// groups than elements. Panics when `num_groups` is zero, as Kafka throws.
pub fn group_partitions<T: Clone>(elements: &[T], num_groups: usize) -> Vec<Vec<T>> {
    assert!(num_groups > 0, "Number of groups must be positive.");
    let per_group = elements.len() / num_groups;
    let leftover = elements.len() - num_groups * per_group;
    let mut groups = Vec::with_capacity(num_groups);
    let mut start = 0;
    for g in 0..num_groups {
        let size = per_group + usize::from(g < leftover);
        groups.push(elements[start..start + size].to_vec());
        start += size;
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reference_examples() {
        assert_eq!(group_partitions(&["t1", "t2", "t3", "t4"], 2), vec![vec!["t1", "t2"], vec!["t3", "t4"]]);
        assert_eq!(group_partitions(&["t1", "t2", "t3"], 3), vec![vec!["t1"], vec!["t2"], vec!["t3"]]);
        let empty: Vec<&str> = vec![];
        assert_eq!(group_partitions(&["t1", "t2", "t3"], 4), vec![vec!["t1"], vec!["t2"], vec!["t3"], empty]);
        let ten: Vec<u32> = (1..=10).collect();
        let sizes: Vec<usize> = group_partitions(&ten, 4).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![3, 3, 2, 2]);
    }

    proptest! {
        #[test]
        fn every_element_once_contiguous_balanced(n in 0usize..200, k in 1usize..40) {
            let elements: Vec<usize> = (0..n).collect();
            let groups = group_partitions(&elements, k);
            prop_assert_eq!(groups.len(), k);
            // concatenation is the input: every element exactly once, order kept, contiguous
            let flat: Vec<usize> = groups.iter().flatten().copied().collect();
            prop_assert_eq!(&flat, &elements);
            let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
            let (min, max) = (*sizes.iter().min().unwrap(), *sizes.iter().max().unwrap());
            prop_assert!(max - min <= 1);
            // the first n mod k groups are the larger ones
            for (g, size) in sizes.iter().enumerate() {
                prop_assert_eq!(*size, n / k + usize::from(g < n % k));
            }
        }
    }
}
