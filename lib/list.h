// Intrusive doubly linked list. A node lives inside the object it links, so
// putting an object on a list never allocates (the property run queues and
// wait queues need in contexts that must not sleep).
//
//   struct Task { ListNode run_node; ... };
//   List<Task, &Task::run_node> queue;
//   queue.push_back(task);
//   for (Task& t : queue) ...
//
// The list is circular with a sentinel head. A node that is on no list points
// at itself, so is_linked() is exact and a double remove is harmless.
#pragma once

#include "lib/types.h"

struct ListNode {
    ListNode* prev = this;
    ListNode* next = this;

    ListNode() = default;
    ListNode(const ListNode&) = delete;
    ListNode& operator=(const ListNode&) = delete;

    bool is_linked() const { return next != this; }

    void unlink() {
        prev->next = next;
        next->prev = prev;
        prev = next = this;
    }

    void insert_after(ListNode& pos) {
        next = pos.next;
        prev = &pos;
        pos.next->prev = this;
        pos.next = this;
    }
};

template <typename T, ListNode T::*Member>
class List {
public:
    List() = default;
    List(const List&) = delete;
    List& operator=(const List&) = delete;

    static T& owner(ListNode& node) {
        // The offset of the member, computed without a null-pointer trick.
        alignas(T) static char probe_storage[sizeof(T)];
        T* probe = reinterpret_cast<T*>(probe_storage);
        const auto offset = reinterpret_cast<char*>(&(probe->*Member)) - probe_storage;
        return *reinterpret_cast<T*>(reinterpret_cast<char*>(&node) - offset);
    }

    bool empty() const { return !m_head.is_linked(); }

    size_t size() const {
        size_t n = 0;
        for (const ListNode* p = m_head.next; p != &m_head; p = p->next)
            ++n;
        return n;
    }

    void push_front(T& item) { (item.*Member).insert_after(m_head); }
    void push_back(T& item) { (item.*Member).insert_after(*m_head.prev); }
    static void remove(T& item) { (item.*Member).unlink(); }

    T* front() { return empty() ? nullptr : &owner(*m_head.next); }
    T* back() { return empty() ? nullptr : &owner(*m_head.prev); }

    T* pop_front() {
        T* item = front();
        if (item)
            remove(*item);
        return item;
    }

    // Whether this list holds the item (a walk: for checks, not fast paths).
    bool contains(const T& item) const {
        for (const ListNode* p = m_head.next; p != &m_head; p = p->next)
            if (p == &(item.*Member))
                return true;
        return false;
    }

    class Iterator {
    public:
        explicit Iterator(ListNode* n) : m_node(n) {}
        T& operator*() const { return owner(*m_node); }
        T* operator->() const { return &owner(*m_node); }
        Iterator& operator++() {
            m_node = m_node->next;
            return *this;
        }
        bool operator!=(const Iterator& o) const { return m_node != o.m_node; }
        bool operator==(const Iterator& o) const { return m_node == o.m_node; }

    private:
        ListNode* m_node;
    };

    // Iteration does not tolerate removal of the current element; use
    // pop_front() loops for draining.
    Iterator begin() { return Iterator(m_head.next); }
    Iterator end() { return Iterator(&m_head); }

private:
    ListNode m_head;
};
